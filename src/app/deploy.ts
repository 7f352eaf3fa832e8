import type { StrategyName } from '../config/names.js';
import { viewManifest } from '../store/manifest-access.js';
import { lastRecords } from '../store/lazy-list.js';
import { buildById, newest } from '../manifest/lookups.js';
import type { ReleaseRecord, VersionVector } from '../manifest/model.js';
import { releaseImage } from '../release/release.js';
import { BakeError, UsageError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { environmentConfig, liveAndPrevious, withEnvironmentLock, type EnvironmentRuntime } from './environment-runtime.js';
import { promoteRelease } from './release-moves.js';
import { resumeRollout, rollOut, rolloutRelease, type DeployResult } from './rollout.js';
import { dueChange, settleEnvironment, DEFAULT_PROGRESS_DEADLINE } from './settle.js';
import { guardToggles } from './toggle-guard.js';
import { checkSwarmStrategy, engineRolls, rollOutOnSwarm, swarmOf } from './swarm-rollout.js';
import { openEnvironment } from './swarm-runtime.js';

export type { DeployResult };

export interface DeployOptions {
  env: string;
  /** The image to deploy; it must be the one the environment runs (the default). */
  image?: string;
  /** Default: the environment's strategy (a recreate when nothing runs yet). */
  strategy?: StrategyName;
  /** Build id; default: the image's newest build. */
  build?: number;
  /** Release a stale build anyway (recorded with the release). */
  allowStale?: boolean;
  /** Rolling: instances replaced at a time, instead of the environment's `batch`. */
  batch?: number;
  /** Continue the paused canary ramp (after an inconclusive step or an interruption). */
  resume?: boolean;
  /** Start the release that was last aborted or withdrawn again, cleanly, as a new release of its build. */
  retry?: boolean;
}

/**
 * Releases a build through the race gate (RaceRefusedError, or IncompatibleRefusedError when some
 * mix of versions the rollout creates cannot work together: exit 3, before anything starts), then
 * under the environment's lock loads it by digest and rolls it out behind the router. First it
 * does what is due (a probation that ran out, a rollout past its deadline) and checks live toggles
 * against the new versions (turned off first, or ToggleConflictError, exit 3). A failed rollout is
 * undone and the release marked rolled-back (StepsUndoneError, or UndoFailedError when an undo
 * failed too); see rollOut for canary outcomes. Throws UsageError for an image the environment
 * does not run or both `resume` and `retry`, BakeError when a rollout is on probation or there is
 * nothing to resume or retry, InputError for an unknown environment or build,
 * EngineUnavailableError when no engine answers.
 */
export async function deploy(ctx: AppContext, options: DeployOptions): Promise<DeployResult> {
  const { ws, env: declared } = await environmentConfig(ctx, options.env);
  const env = options.batch === undefined ? declared : { ...declared, batch: options.batch };
  const image = options.image ?? env.image;
  if (image !== env.image) throw new UsageError(`bake deploy: environment ${env.name} runs ${env.image}, not ${image}`);
  if (options.resume && options.retry) throw new UsageError('bake deploy: --resume and --retry exclude each other');
  return withEnvironmentLock(ctx, env.name, async () => {
    let rt: EnvironmentRuntime | undefined;
    const open = async () => (rt ??= await openEnvironment(ctx, ws, env));
    if (await dueChange(ws.dir, env.name, image, env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE))
      await settleEnvironment(ctx, await open());
    const { live, previous } = await liveAndPrevious(ws.dir, env.name, image);
    if (options.resume) {
      if (!live) throw new BakeError(`${env.name} runs nothing to resume`);
      return resumeRollout(ctx, await open(), live);
    }
    if (live?.state === 'probation') {
      if (live.strategy === 'blue-green' && !live.rollout?.paused) {
        // The idle fleet of the last blue/green is what a new deploy would have to keep too: retire it.
        await promoteRelease(ctx, await open(), live, previous, { note: 'a new deploy retired the idle old fleet early' });
      } else {
        throw new BakeError(
          `release ${live.id} of ${env.name} is on probation (${live.strategy ?? 'canary'}${live.rollout?.paused ? `, paused: ${live.rollout.paused.reason}` : ''}): ` +
            `finish it first with bake promote, bake rollback or bake abort${live.rollout?.paused ? ', or continue it with bake deploy --resume' : ''}`,
        );
      }
    }
    const retried = options.retry ? await lastStopped(ws.dir, env.name, image) : undefined;
    const build = retried?.build ?? options.build;
    const strategy = options.strategy ?? (retried?.strategy as StrategyName | undefined) ?? env.strategy;
    checkSwarmStrategy(env, strategy);
    const vector = await buildVector(ws.dir, image, build);
    const togglesOff = vector ? await guardToggles(ctx, ws.dir, env.name, [vector], 'deploy') : [];
    const release = await releaseImage(ws.dir, image, env.name, {
      ...(build !== undefined && { build }),
      allowStale: options.allowStale === true,
      acceptsDev: env.dev,
      initialState: 'installing',
      env: ctx.env,
      progress: ctx.progress,
      extra: { strategy, ...(retried && { retryOf: retried.id }) },
      // The compatibility check judges every mix of versions this rollout will run.
      rollout: { strategy, replicas: env.replicas, batch: env.batch, probation: env.probationSeconds > 0 || env.preview === true },
    });
    // A swarm environment has no local engine to open: the engine's own rolling update runs there.
    // Blue/green, canary and A/B are bake's own steps on a swarm too, over a second service.
    const result =
      swarmOf(env) && (!live || engineRolls(strategy))
        ? await rollOutOnSwarm(ctx, ws, env, rolloutRelease(release), live ? strategy : 'recreate')
        : await rollOut(ctx, await open(), rolloutRelease(release), strategy);
    return { ...result, ...(togglesOff.length > 0 && { togglesOff }) };
  });
}

/** The last release that was stopped (aborted, withdrawn by its analysis, past its deadline, interrupted). */
async function lastStopped(workspace: string, env: string, image: string): Promise<ReleaseRecord> {
  const last = await viewManifest(workspace, (m) =>
    [...lastRecords(m.environments[env]?.releases ?? [], 200)].reverse().find((r) => r.image === image && r.state !== 'released'),
  );
  if (last?.state !== 'rolled-back' || !last.stopped) {
    throw new BakeError(`${env} has no stopped rollout to retry${last ? ` (its last release, ${last.id}, is ${last.state})` : ''}`);
  }
  return last;
}

/** The version vector of a build (the newest when `id` is undefined), if the manifest has it. */
async function buildVector(workspace: string, image: string, id: number | undefined): Promise<VersionVector | undefined> {
  return viewManifest(workspace, (m) => {
    const builds = m.builds[image] ?? [];
    return (id === undefined ? newest(builds) : buildById(builds, id))?.vector;
  });
}
