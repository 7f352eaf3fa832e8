import type { EnvironmentRecord, VersionVector } from '../manifest/model.js';
import { schemaNeeds, schemaTolerates, type DeclarationLookup } from './declarations.js';
import { appliedMigrations, needsPastBlock, planMigrations, runningTolerances } from './migration-plan.js';

/** Why the schema of a service forbids a release. */
export type SchemaProblem =
  /** A contract migration already ran that the release's code does not work with (going back past it). */
  | { kind: 'contracted'; service: string; version: number; tolerates: number; migration: number; release: number; at: string }
  /** The code needs an expand migration that comes after a contract a running version still needs. */
  | { kind: 'out-of-order'; service: string; version: number; needs: number; migration: number; runningVersion: number; tolerates: number }
  /** The code needs a migration its declaration does not name. */
  | { kind: 'undeclared'; service: string; version: number; migration: number };

/**
 * The schema checks of a release, pure: for each service of `newVector` whose version declares a
 * schema, (a) no contract migration it does not work with may have run in the environment — code
 * older than a contracted schema cannot run again, so a rollback past a contract is refused, and
 * no override exists; (b) the expand migrations it needs must be reachable in order before it
 * starts while `running` (what runs now: the old release and other images) keeps running.
 */
export function checkSchemas(input: {
  env: EnvironmentRecord | undefined;
  newVector: VersionVector;
  running: readonly VersionVector[];
  declared: DeclarationLookup;
}): SchemaProblem[] {
  const applied = appliedMigrations(input.env);
  const problems: SchemaProblem[] = [];
  for (const [service, version] of Object.entries(input.newVector)) {
    const schema = input.declared(service, version)?.schema;
    if (!schema) continue;
    const done = applied.get(service) ?? new Map();
    const tolerates = schemaTolerates(schema);
    const contracted = [...done.values()]
      .filter((a) => a.run.kind === 'contract' && a.run.migration > tolerates)
      .sort((a, b) => a.run.migration - b.run.migration)[0];
    if (contracted) {
      problems.push({
        kind: 'contracted',
        service,
        version,
        tolerates,
        migration: contracted.run.migration,
        release: contracted.release,
        at: contracted.run.at,
      });
      continue;
    }
    const olders = runningTolerances(service, input.running, (v) => input.declared(service, v)?.schema);
    const needs = schemaNeeds(schema);
    const ids = new Set(done.keys());
    const plan = planMigrations(schema, ids, needs, [tolerates, ...olders.map((o) => o.tolerates)]);
    if (plan.blocked?.kind === 'undeclared') {
      problems.push({ kind: 'undeclared', service, version, migration: plan.blocked.migration });
      continue;
    }
    const past = needsPastBlock(schema, plan, ids, needs);
    if (past !== undefined && plan.blocked) {
      const blocker = olders.find((o) => o.tolerates < (plan.blocked?.migration ?? 0)) ?? { version, tolerates };
      problems.push({
        kind: 'out-of-order',
        service,
        version,
        needs: past,
        migration: plan.blocked.migration,
        runningVersion: blocker.version,
        tolerates: blocker.tolerates,
      });
    }
  }
  return problems;
}

/** One schema problem in words. */
export function describeSchemaProblem(p: SchemaProblem): string {
  switch (p.kind) {
    case 'contracted':
      return (
        `${p.service} v${p.version} works with the schema up to migration ${p.tolerates}, but contract migration ${p.migration} of ${p.service} ` +
        `ran (release ${p.release}, ${p.at}) and dropped what it uses: code older than a contracted schema cannot run again`
      );
    case 'out-of-order':
      return (
        `${p.service} v${p.version} needs expand migration ${p.needs}, which comes after contract migration ${p.migration}, ` +
        `and ${p.service} v${p.runningVersion}${p.runningVersion === p.version ? ' itself' : ', still running,'} works only up to ${p.tolerates}: ` +
        `release a version that needs at most ${p.migration - 1} first, and let its contract run`
      );
    case 'undeclared':
      return `${p.service} v${p.version} needs migration ${p.migration}, but its schema declaration does not say whether it is expand or contract`;
  }
}
