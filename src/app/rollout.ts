import type { StrategyName } from '../config/names.js';
import { runSteps, StepsInterruptedError } from '../deploy/steps.js';
import { finalState, strategySteps } from '../deploy/strategies.js';
import type { ReleaseRecord, RolloutProgress } from '../manifest/model.js';
import type { ReleaseResult } from '../release/release.js';
import { setReleaseState } from '../release/release-state.js';
import type { Digest } from '../util/digest.js';
import { BakeError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { runCanarySteps } from './canary-run.js';
import type { AppContext } from './context.js';
import { deployContext } from './deploy-context.js';
import { liveAndPrevious, routerUrls, type EnvironmentRuntime } from './environment-runtime.js';
import { stopRecord } from './release-moves.js';
import { migrateAfterRetire, migrateBeforeStart } from '../compat/run-migrations.js';
import { migrationSite } from './migration-site.js';

export { deployContext };

const debug = createLogger('deploy');

/** What a deploy reports (`bake deploy --json`): the release it rolled out, how, and where the router listens. */
export interface DeployResult {
  env: string;
  image: string;
  build: number;
  release: number;
  digest: Digest;
  vector: Record<string, number>;
  strategy: StrategyName;
  state: 'committed' | 'probation';
  router: Record<string, string>;
  /** Blue/green: the old fleet is kept, idle, until then (bake rollback flips back at once; bake promote retires it). */
  probationUntil?: string;
  /** Canary, A/B, preview: where the rollout stands and why it waits. */
  rollout?: RolloutProgress;
  /** Blue/green preview: the new fleet's URLs before the switch. */
  preview?: Record<string, string>;
  /** Toggles turned off first because the new versions do not meet their requirements. */
  togglesOff?: string[];
}

/** The release a rollout rolls out: the record the gate just made (state installing). */
export type RolloutRelease = ReleaseRecord;

/** The release record a gate result names, as the rollout takes it. */
export function rolloutRelease(release: ReleaseResult): RolloutRelease {
  const { release: id, image, build, digest, vector, level, serviceLayers, env, overrides } = release;
  return { id, image, build, digest, vector, level, serviceLayers, env, overrides, at: '', by: '', state: 'installing', generation: 0 };
}

/**
 * Runs a strategy for a release already recorded by the gate (state installing), then records
 * the state it reached. Blue/green returns once traffic has switched, keeping the old fleet idle
 * for `probation` seconds (probation); canary and A/B stay on probation, and a canary with `steps`
 * ramps through them (runCanarySteps). A failed or interrupted deploy is undone step by step and
 * the release marked rolled-back with the reason, which makes the previous release live again.
 * With nothing running yet, every strategy is a recreate. Schema migrations: expand ones run
 * before the first new instance starts; contract ones once the release is committed with the old
 * instances gone (MigrationFailedError, after the release is recorded committed, when one fails).
 * Throws StepsUndoneError (kind interrupted: StepsInterruptedError), UndoFailedError,
 * CanaryFailedError, RolloutInterruptedError, MigrationFailedError.
 */
export async function rollOut(
  ctx: AppContext,
  rt: EnvironmentRuntime,
  release: RolloutRelease,
  strategy: StrategyName,
): Promise<DeployResult> {
  const routerState = await rt.router.state();
  const old = routerState.instances;
  const { previous } = await liveAndPrevious(rt.ws.dir, rt.env.name, release.image);
  debug.debug('loading images', { old: old.length });
  const target = await rt.targetOf(release);
  const previousTarget = previous ? await rt.targetOf(previous).catch(() => undefined) : undefined;
  const chosen: StrategyName = old.length === 0 ? 'recreate' : strategy;
  const deploy = deployContext(ctx, rt, target, previousTarget);
  const steps = chosen === 'canary' ? (rt.env.canary.steps ?? []) : [];
  const options = {
    batch: rt.env.batch,
    cohort: rt.env.canary.cohort,
    ...(chosen === 'canary' && { percent: steps[0]?.percent ?? rt.env.canary.percent ?? 10 }),
    keepOld: rt.env.probationSeconds > 0,
    preview: rt.env.preview === true,
  };
  try {
    // Expand migrations before any new instance starts: add-only, so the old fleet keeps working (never undone).
    await migrateBeforeStart(
      migrationSite(ctx, rt),
      release,
      old.map((i) => i.vector),
    );
    await runSteps(strategySteps(chosen, deploy, old, options), {
      what: `deploy of ${release.image}:${release.build} to ${rt.env.name}`,
      log: deploy.log,
      ...(ctx.signal && { signal: ctx.signal }),
    });
  } catch (error) {
    const interrupted = error instanceof StepsInterruptedError;
    const message = interrupted ? 'interrupted (SIGINT/SIGTERM); every step done was undone' : (error as Error).message;
    await setReleaseState(rt.ws.dir, rt.env.name, release.id, 'rolled-back', {
      env: ctx.env,
      note: message,
      patch: { strategy: chosen, stopped: stopRecord(ctx, { reason: interrupted ? 'interrupted' : 'failed', message }) },
    });
    throw error;
  }
  const state = finalState(chosen, { keepOld: options.keepOld && old.length > 0, preview: options.preview });
  const now = new Date();
  const at = now.toISOString();
  const preview = chosen === 'blue-green' && options.preview;
  const probationUntil =
    chosen === 'blue-green' && !preview && state === 'probation'
      ? new Date(now.getTime() + rt.env.probationSeconds * 1000).toISOString()
      : undefined;
  const rollout: RolloutProgress | undefined =
    chosen === 'canary' || chosen === 'ab'
      ? {
          step: 0,
          percent: chosen === 'ab' ? 50 : (options.percent ?? 10),
          progressAt: at,
          ...(steps.length === 0 && { paused: { reason: 'manual' as const, message: 'waiting for bake promote or bake rollback', at } }),
        }
      : preview
        ? {
            step: 0,
            percent: 0,
            progressAt: at,
            paused: { reason: 'preview', message: 'the new fleet answers on the preview ports; bake promote switches traffic', at },
            preview: routerState.previewListeners ?? {},
          }
        : undefined;
  const note =
    probationUntil !== undefined
      ? `traffic switched; the old fleet stays up, idle, until ${probationUntil}`
      : (rollout?.paused?.message ?? `rolled out (${chosen})`);
  await setReleaseState(rt.ws.dir, rt.env.name, release.id, state, {
    env: ctx.env,
    note,
    patch: { strategy: chosen, ...(probationUntil && { probationUntil }), ...(rollout && { rollout }) },
  });
  // Contract migrations only once the old instances are gone: never on probation or with a canary live.
  if (state === 'committed') {
    await migrateAfterRetire(
      migrationSite(ctx, rt),
      release,
      (await rt.router.state()).instances.map((i) => i.vector),
    );
  }
  const result: DeployResult = {
    env: rt.env.name,
    image: release.image,
    build: release.build,
    release: release.id,
    digest: release.digest,
    vector: release.vector,
    strategy: chosen,
    state,
    router: routerUrls(rt.listeners),
    ...(probationUntil && { probationUntil }),
    ...(rollout && { rollout }),
    ...(rollout?.preview && { preview: routerUrls(rollout.preview) }),
  };
  if (steps.length === 0) return result;
  const ramp = await runCanarySteps(ctx, rt, { ...release, state: 'probation', strategy: chosen }, 0);
  const { rollout: _first, ...rest } = result;
  return { ...rest, state: ramp.state, ...(ramp.rollout && { rollout: ramp.rollout }) };
}

/** Continues a paused canary ramp (inconclusive, or interrupted) from the step it stopped at. */
export async function resumeRollout(ctx: AppContext, rt: EnvironmentRuntime, live: ReleaseRecord): Promise<DeployResult> {
  if (live.strategy !== 'canary' || !live.rollout?.paused || (rt.env.canary.steps ?? []).length === 0) {
    throw new BakeError(
      `release ${live.id} of ${rt.env.name} has no paused canary ramp to resume (it is ${live.state}${live.rollout?.paused ? `, paused: ${live.rollout.paused.reason}` : ''})`,
    );
  }
  const ramp = await runCanarySteps(ctx, rt, live, live.rollout.step);
  return {
    env: rt.env.name,
    image: live.image,
    build: live.build,
    release: live.id,
    digest: live.digest,
    vector: live.vector,
    strategy: 'canary',
    state: ramp.state,
    router: routerUrls(rt.listeners),
    ...(ramp.rollout && { rollout: ramp.rollout }),
  };
}
