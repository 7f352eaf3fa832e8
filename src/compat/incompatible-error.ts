import { BakeError, ExitCode } from '../util/errors.js';
import { describeProblem, type CompatibilityProblem } from './check.js';
import { describeSchemaProblem, type SchemaProblem } from './schema-check.js';

/** What was being released where, for the refusal. */
export interface IncompatibleTarget {
  action: 'release' | 'rollback';
  image: string;
  build: number;
  env: string;
}

/**
 * The gate refused a release whose versions cannot work together (exit 3, kind `incompatible`):
 * a running consumer would have a required interface unmet in some window of the rollout
 * (`interfaces`), or the release's code does not work with the environment's schema (`schemas`).
 * `service`, `have` and `want` summarise the first problem for the refusal record.
 */
export class IncompatibleRefusedError extends BakeError {
  override name = 'IncompatibleRefusedError';
  override readonly kind: string = 'incompatible';
  override readonly exitCode: number = ExitCode.refused;
  readonly service: string;
  readonly have: number;
  readonly want: number;

  constructor(
    readonly target: IncompatibleTarget,
    readonly interfaces: CompatibilityProblem[],
    readonly schemas: SchemaProblem[],
  ) {
    super(refusalMessage(target, interfaces, schemas));
    const schema = schemas[0];
    const first = interfaces[0];
    this.service = schema?.service ?? first?.consumer.service ?? '';
    this.have = schema?.version ?? first?.consumer.version ?? 0;
    this.want = schema ? schema.migration : (first?.provider?.version ?? 0);
  }

  override details(): Record<string, unknown> {
    const first = this.interfaces[0];
    const schema = this.schemas[0];
    return {
      ...this.target,
      service: this.service,
      have: this.have,
      want: this.want,
      ...(schema && { reason: 'schema', migration: schema.migration }),
      ...(!schema &&
        first && {
          reason: 'interface',
          window: first.window,
          consumer: first.consumer,
          provider: first.provider ?? null,
          interface: first.interface,
          range: first.range,
        }),
      problems: this.interfaces.slice(0, 20),
      schemaProblems: this.schemas,
    };
  }
}

function refusalMessage(
  target: IncompatibleTarget,
  interfaces: readonly CompatibilityProblem[],
  schemas: readonly SchemaProblem[],
): string {
  const what = `refusing to ${target.action === 'rollback' ? 'roll back' : 'release'} ${target.image}:${target.build} ${target.action === 'rollback' ? 'in' : 'to'} ${target.env}`;
  const schema = schemas[0];
  if (schema) {
    const more = schemas.length > 1 ? ` (and ${schemas.length - 1} more schema problem(s))` : '';
    return `${what}: ${describeSchemaProblem(schema)}${more}`;
  }
  const first = interfaces[0];
  if (!first) return `${what}: its versions are incompatible`;
  const others = first.windows.length > 1 ? ` (and ${first.windows.length - 1} more window(s))` : '';
  const more = interfaces.length > 1 ? `; ${interfaces.length - 1} more problem(s) in --json` : '';
  return (
    `${what}: its versions are incompatible during "${first.window}"${others}: ${describeProblem(first)}${more}. ` +
    'Release versions whose provides/requires agree, or roll out the provider that satisfies both first'
  );
}
