import type { ServiceConfig } from '../config/types.js';
import { currentActor } from '../config/workspace-paths.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { readManifest, updateManifest } from '../store/manifest-access.js';
import type { MigrationKind, MigrationRun, VersionVector } from '../manifest/model.js';
import { BakeError } from '../util/errors.js';
import { runShell } from '../util/exec.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { declarationsIn, schemaNeeds } from './declarations.js';
import { appliedMigrations, needsPastBlock, planMigrations, runningTolerances } from './migration-plan.js';

/** A migration command failed (or cannot run): recorded with the release, exit 1. */
export class MigrationFailedError extends BakeError {
  override name = 'MigrationFailedError';
  override readonly kind: string = 'migration-failed';
  constructor(
    message: string,
    readonly service: string,
    readonly migration: number,
    readonly migrationKind: MigrationKind,
    readonly output: string,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { service: this.service, migration: this.migration, migrationKind: this.migrationKind, output: this.output };
  }
}

/** Where migrations run and who asks. */
export interface MigrationSite {
  workspace: string;
  env: string;
  services: ReadonlyMap<string, ServiceConfig>;
  /** The environment bake runs in: the migrate command gets it (its database URL), less bake's own credentials. */
  processEnv: NodeJS.ProcessEnv;
  progress?: ProgressSink;
}

/** A migrate command may take this long. */
const MIGRATION_TIMEOUT_MS = 600_000;
/** Bake's own credentials: a migrate command needs the database, not these. */
const WITHHELD = ['BAKE_SERVICE_TOKEN', 'BAKE_REGISTRY_USERNAME', 'BAKE_REGISTRY_PASSWORD'];

/**
 * Before the instances of release `release` start: runs, in order, every migration its code needs
 * (expand; a contract only when no version in `running` — what runs now — needs what it drops),
 * each recorded with the release. Throws MigrationFailedError when a command fails (recorded), or
 * when the code needs an expand that a pending contract blocks (the gate refuses that first).
 */
export async function migrateBeforeStart(
  site: MigrationSite,
  release: { id: number; vector: VersionVector },
  running: readonly VersionVector[],
) {
  return migrate(site, release, running, 'before');
}

/**
 * After the old instances are gone and no probation holds them (`running`: what runs now): runs
 * the contract migrations of release `release` that every running version works with, in order,
 * each recorded with the release. A failure is recorded and thrown (MigrationFailedError); the
 * release stays committed and the contract runs again at the next deploy, promote or settle.
 */
export async function migrateAfterRetire(
  site: MigrationSite,
  release: { id: number; vector: VersionVector },
  running: readonly VersionVector[],
) {
  return migrate(site, release, running, 'after');
}

async function migrate(
  site: MigrationSite,
  release: { id: number; vector: VersionVector },
  running: readonly VersionVector[],
  phase: 'before' | 'after',
): Promise<MigrationRun[]> {
  const manifest = await readManifest(site.workspace);
  const declared = declarationsIn(manifest);
  const applied = appliedMigrations(manifest.environments[site.env]);
  const runs: MigrationRun[] = [];
  for (const [service, version] of Object.entries(release.vector)) {
    const schema = declared(service, version)?.schema;
    if (!schema) continue;
    const done = new Set(applied.get(service)?.keys() ?? []);
    const vectors = phase === 'before' ? [...running, release.vector] : running;
    const tolerances = runningTolerances(service, vectors, (v) => declared(service, v)?.schema).map((t) => t.tolerates);
    const plan = planMigrations(schema, done, schemaNeeds(schema), tolerances);
    const past = phase === 'before' ? needsPastBlock(schema, plan, done, schemaNeeds(schema)) : undefined;
    if (past !== undefined || (phase === 'before' && plan.blocked?.kind === 'undeclared')) {
      const blocked = plan.blocked?.migration ?? 0;
      throw new MigrationFailedError(
        `${service} v${version} needs migration ${past ?? blocked} of ${site.env}, but migration ${blocked} cannot run while older code runs`,
        service,
        blocked,
        'contract',
        '',
      );
    }
    for (const step of plan.run) {
      try {
        runs.push(await runOne(site, release.id, service, version, step.migration, step.kind));
      } catch (error) {
        if (phase === 'before' || !(error instanceof MigrationFailedError)) throw error;
        const again = 'it runs again at the next deploy, promote or settle';
        throw new MigrationFailedError(
          `release ${release.id} of ${site.env} is committed, but ${error.message}\n(${again})`,
          service,
          step.migration,
          step.kind,
          error.output,
        );
      }
    }
  }
  return runs;
}

async function runOne(
  site: MigrationSite,
  releaseId: number,
  service: string,
  version: number,
  migration: number,
  kind: MigrationKind,
): Promise<MigrationRun> {
  const progress = site.progress ?? silent;
  const config = site.services.get(service);
  const command = config?.schema?.migrate;
  const at = new Date().toISOString();
  const base = { service, migration, kind, version, at, by: currentActor(site.processEnv) };
  if (command === undefined || !config) {
    const output = `bake.yaml: services.${service}.schema.migrate is not set`;
    await record(site, releaseId, { ...base, status: 'failed', ms: 0, output });
    throw new MigrationFailedError(
      `cannot run ${kind} migration ${migration} of ${service} in ${site.env}: ${output}`,
      service,
      migration,
      kind,
      output,
    );
  }
  progress({ kind: 'step', message: `${site.env}: ${kind} migration ${migration} of ${service}` });
  const started = performance.now();
  const baseEnv = Object.fromEntries(Object.entries(site.processEnv).filter(([name]) => !WITHHELD.includes(name.toUpperCase())));
  const result = await runShell(command, {
    cwd: config.source,
    baseEnv,
    env: {
      BAKE_SERVICE: service,
      BAKE_ENV: site.env,
      BAKE_MIGRATION: String(migration),
      BAKE_MIGRATION_KIND: kind,
      BAKE_SERVICE_VERSION: String(version),
    },
    timeoutMs: MIGRATION_TIMEOUT_MS,
  });
  const ms = Math.round(performance.now() - started);
  if (result.exitCode !== 0) {
    const output = result.output.trimEnd().slice(-4000);
    await record(site, releaseId, { ...base, status: 'failed', ms, output });
    throw new MigrationFailedError(
      `${kind} migration ${migration} of ${service} in ${site.env} failed: \`${command}\` exited with ${result.exitCode}:\n${output}`,
      service,
      migration,
      kind,
      output,
    );
  }
  const run: MigrationRun = { ...base, status: 'applied', ms };
  await record(site, releaseId, run);
  progress({ kind: 'done', message: `${site.env}: ${kind} migration ${migration} of ${service} applied (${ms} ms)` });
  return run;
}

/** Appends a run to the release's record and the environment's history, under the manifest lock. */
async function record(site: MigrationSite, releaseId: number, run: MigrationRun): Promise<void> {
  await updateManifest(
    site.workspace,
    { purpose: `record migration ${run.migration} of ${run.service} in ${site.env}`, ...lockTuning(site.processEnv) },
    async (manifest) => {
      const env = (manifest.environments[site.env] ??= { live: {}, releases: [], refusals: [] });
      const release = env.releases.find((r) => r.id === releaseId);
      if (release) (release.migrations ??= []).push(run);
      (env.changes ??= []).push({
        at: run.at,
        by: run.by,
        kind: 'migrate',
        release: releaseId,
        message: `${run.kind} migration ${run.migration} of ${run.service} ${run.status === 'applied' ? 'applied' : 'failed'} (${run.ms} ms)`,
        detail: { service: run.service, migration: run.migration, migrationKind: run.kind, status: run.status },
      });
      return { result: undefined, write: true };
    },
  );
}
