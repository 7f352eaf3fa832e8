import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_SAYS, isStrategy, STRATEGIES, type StrategyName } from '../config/names.js';
import { UsageError } from '../util/errors.js';

/**
 * Every command-line option bake knows, declared once: its type for `node:util` parseArgs and the
 * parser that range-checks its value. Commands list the names they accept; `main` parses argv
 * against that subset, so a bad value is exit 2 with the fix before any work starts.
 */
interface StringOption<T> {
  type: 'string';
  short?: string;
  /** Turns the raw text into the value the use case takes; throws UsageError with the fix. */
  parse: (raw: string, flag: string) => T;
}
interface BooleanOption {
  type: 'boolean';
  short?: string;
}

const text = (raw: string): string => raw;

function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string, flag: string): number => {
    const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new UsageError(
        `${flag} takes a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}, got ${JSON.stringify(raw)}`,
      );
    }
    return value;
  };
}

function seconds(raw: string, flag: string): number {
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value > 86_400)
    throw new UsageError(`${flag} takes a number of seconds from 0 to 86400, got ${JSON.stringify(raw)}`);
  return value;
}

function environmentName(raw: string, flag: string): string {
  if (!ENVIRONMENT_NAME.test(raw))
    throw new UsageError(`${flag}: invalid environment name ${JSON.stringify(raw)} (use ${ENVIRONMENT_NAME_SAYS})`);
  return raw;
}

function strategy(raw: string, flag: string): StrategyName {
  if (!isStrategy(raw)) throw new UsageError(`${flag} must be one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw;
}

function conflictPolicy(raw: string, flag: string): 'off' | 'refuse' {
  if (raw !== 'off' && raw !== 'refuse') throw new UsageError(`${flag} must be off or refuse, got ${JSON.stringify(raw)}`);
  return raw;
}

/** `--allow-host a.example,b.example:8443`: host names (optionally with a port) a service answers to. */
function hostNames(raw: string, flag: string): string[] {
  const names = raw.split(',').map((name) => name.trim().toLowerCase());
  const bad = names.find(
    (name) => !/^(?:[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/.test(name),
  );
  if (bad !== undefined)
    throw new UsageError(`${flag} takes host names separated by commas (e.g. bake.example.com), got ${JSON.stringify(bad)}`);
  return names;
}

const string = <T>(parse: (raw: string, flag: string) => T, short?: string): StringOption<T> => ({
  type: 'string',
  parse,
  ...(short && { short }),
});
const boolean = (short?: string): BooleanOption => ({ type: 'boolean', ...(short && { short }) });

export const OPTIONS = {
  // global
  workspace: string(text, 'C'),
  json: boolean(),
  help: boolean('h'),
  'service-url': string(text),
  // commit and build
  all: boolean(),
  from: string(text),
  to: string(text),
  out: string(text),
  revision: string(text),
  author: string(text),
  'commit-time': string(wholeNumber(0, 253_402_300_799)),
  after: string(wholeNumber(0)),
  commit: boolean(),
  serialize: boolean(),
  'max-rebakes': string(wholeNumber(0, 100)),
  load: boolean(),
  compress: boolean(),
  push: string(text),
  dev: boolean(),
  // release and deploy
  env: string(environmentName),
  build: string(wholeNumber(1)),
  'allow-stale': boolean(),
  rollback: boolean(),
  strategy: string(strategy),
  batch: string(wholeNumber(1, 1000)),
  requires: string(text),
  wait: string(seconds),
  conflict: string(conflictPolicy),
  resume: boolean(),
  retry: boolean(),
  'allow-revoked': boolean(),
  // revoke and unrevoke
  reason: string(text),
  'and-older': boolean(),
  // status, log, gc
  service: string(text),
  image: string(text),
  limit: string(wholeNumber(1)),
  'dry-run': boolean(),
  check: boolean(),
  engine: boolean(),
  grace: string(wholeNumber(0)),
  // serve and router
  tokens: string(text),
  'no-auth': boolean(),
  port: string(wholeNumber(0, 65_535)),
  listen: string(text),
  'tls-cert': string(text),
  'tls-key': string(text),
  'allow-host': string(hostNames),
  'insecure-http': boolean(),
} as const satisfies Record<string, StringOption<unknown> | BooleanOption>;

export type OptionName = keyof typeof OPTIONS;

/** The parsed value of one option: `true` for a boolean, the parser's result for a string. */
export type OptionValue<K extends OptionName> = (typeof OPTIONS)[K] extends StringOption<infer T> ? T : true;

/** The parsed values of the options a command accepts; absent options are undefined. */
export type OptionValues<K extends OptionName> = { [P in K]?: OptionValue<P> };

export const GLOBAL_OPTIONS = ['workspace', 'json', 'help', 'service-url'] as const satisfies readonly OptionName[];

/** The parseArgs configuration for a set of option names. */
export function parseArgsConfig(names: readonly OptionName[]): Record<string, { type: 'string' | 'boolean'; short?: string }> {
  return Object.fromEntries(
    names.map((name) => {
      const spec: StringOption<unknown> | BooleanOption = OPTIONS[name];
      return [name, { type: spec.type, ...(spec.short && { short: spec.short }) }];
    }),
  );
}

/** Runs each given option's parser over the raw parseArgs values. */
export function parseOptionValues<K extends OptionName>(names: readonly K[], raw: Record<string, unknown>): OptionValues<K> {
  const values: Record<string, unknown> = {};
  for (const name of names) {
    const given = raw[name];
    if (given === undefined) continue;
    const spec: StringOption<unknown> | BooleanOption = OPTIONS[name];
    values[name] = spec.type === 'string' ? spec.parse(String(given), `--${name}`) : true;
  }
  return values as OptionValues<K>;
}
