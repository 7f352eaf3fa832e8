import { InputError } from './errors.js';

/**
 * The one clock of a bake: SOURCE_DATE_EPOCH when set, else the given fallback (the commit time of
 * what is being baked), else the epoch. Returns whole seconds since the epoch.
 */
export function bakeClock(fallbackSeconds?: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['SOURCE_DATE_EPOCH'];
  if (raw !== undefined && raw !== '') {
    if (!/^\d+$/.test(raw)) {
      throw new InputError([
        {
          file: 'environment',
          field: 'SOURCE_DATE_EPOCH',
          message: `must be a whole number of seconds since 1970, got ${JSON.stringify(raw)}`,
          fix: 'export SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
        },
      ]);
    }
    return Number(raw);
  }
  return fallbackSeconds ?? 0;
}

/** RFC 3339 UTC timestamp for seconds since the epoch, as OCI annotations and configs want. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
