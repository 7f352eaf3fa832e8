import type { EnvironmentRecord, MigrationKind, MigrationRun, SchemaDeclaration } from '../manifest/model.js';

/**
 * Which migrations may run when, as pure functions of the recorded history. Migrations of a
 * service run in number order. An expand migration (adds only) may run whenever it is reached; a
 * contract migration K only when every version still running works with it (K <= min(reads,
 * writes) of each). So expand migrations run before new instances start, contract ones after the
 * old instances are gone — and a contract that some running version still needs blocks every
 * migration after it.
 */

/** An applied migration, and the release it was recorded with. */
export interface AppliedMigration {
  run: MigrationRun;
  release: number;
}

/** Service → migration number → its successful run in an environment (from every release's record). */
export function appliedMigrations(env: EnvironmentRecord | undefined): Map<string, Map<number, AppliedMigration>> {
  const applied = new Map<string, Map<number, AppliedMigration>>();
  for (const release of env?.releases ?? []) {
    for (const run of release.migrations ?? []) {
      if (run.status !== 'applied') continue;
      let mine = applied.get(run.service);
      if (!mine) applied.set(run.service, (mine = new Map()));
      if (!mine.has(run.migration)) mine.set(run.migration, { run, release: release.id });
    }
  }
  return applied;
}

/** What may run now, in order, and where it stops. */
export interface MigrationPlan {
  run: { migration: number; kind: MigrationKind }[];
  /** The first migration that may not run yet: a contract some running version needs, or one the declaration does not name. */
  blocked?: { migration: number; kind: MigrationKind | 'undeclared'; by?: number };
}

/**
 * The migrations of `schema` up to `upTo` that are not `applied`, in order, while each may run:
 * an expand always, a contract K only when every tolerance in `running` (min(reads, writes) of each
 * version that will be running) is at least K. Stops at the first that may not (`blocked`, with
 * the lowest tolerance that blocks it as `by`).
 */
export function planMigrations(
  schema: SchemaDeclaration,
  applied: ReadonlySet<number>,
  upTo: number,
  running: readonly number[],
): MigrationPlan {
  const plan: MigrationPlan = { run: [] };
  for (let k = 1; k <= upTo; k++) {
    if (applied.has(k)) continue;
    const kind = schema.migrations[String(k)];
    if (kind === undefined) return { ...plan, blocked: { migration: k, kind: 'undeclared' } };
    const lowest = running.length > 0 ? Math.min(...running) : Infinity;
    if (kind === 'contract' && lowest < k) return { ...plan, blocked: { migration: k, kind, by: lowest } };
    plan.run.push({ migration: k, kind });
  }
  return plan;
}

/** Whether an expand migration after `blocked` and up to `needs` is still needed: then the new code cannot start. */
export function needsPastBlock(
  schema: SchemaDeclaration,
  plan: MigrationPlan,
  applied: ReadonlySet<number>,
  needs: number,
): number | undefined {
  if (!plan.blocked) return undefined;
  for (let k = plan.blocked.migration; k <= needs; k++) {
    if (!applied.has(k) && schema.migrations[String(k)] === 'expand') return k;
  }
  return undefined;
}

/**
 * The versions of `service` in `vectors` and the newest contract each works with. A version that
 * declares no schema counts as working with none (0): its code may read anything, so no contract
 * runs while it does.
 */
export function runningTolerances(
  service: string,
  vectors: readonly Readonly<Record<string, number>>[],
  schemaOfVersion: (version: number) => SchemaDeclaration | undefined,
): { version: number; tolerates: number }[] {
  const seen = new Map<number, number>();
  for (const vector of vectors) {
    const version = vector[service];
    if (version === undefined || seen.has(version)) continue;
    const schema = schemaOfVersion(version);
    seen.set(version, schema ? Math.min(schema.reads, schema.writes) : 0);
  }
  return [...seen].map(([version, tolerates]) => ({ version, tolerates }));
}
