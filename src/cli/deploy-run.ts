import type { StrategyName } from '../config/types.js';
import { finalState, strategySteps } from '../deploy/strategies.js';
import { runSteps, StepFailed } from '../deploy/steps.js';
import { BakeError } from '../util/errors.js';
import { setReleaseState } from '../release/release-state.js';
import { createLogger } from '../util/log.js';

const debug = createLogger('deploy');
import type { ReleaseResult } from '../release/release.js';
import type { CommandContext } from './command.js';
import { liveAndPrevious, type EnvironmentRuntime } from './environment-runtime.js';

/** A deploy that failed and was undone: the environment runs what it ran before. */
export class DeployFailedError extends BakeError {
  override name = 'DeployFailedError';
  override readonly kind: string = 'deploy-failed';
  constructor(
    message: string,
    readonly undone: string[],
    options: { cause: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { undone: this.undone };
  }
}

/** What a deploy reports: the release it rolled out, how, and where the router listens. */
export interface DeployOutcome extends Pick<ReleaseResult, 'env' | 'image' | 'build' | 'release' | 'digest' | 'vector'> {
  strategy: StrategyName;
  state: 'committed' | 'probation';
  router: Record<string, string>;
}

/**
 * Runs a strategy for a release already recorded by the gate (state installing), then records
 * the state it reached; a failed deploy is undone step by step and the release marked
 * rolled-back, which makes the previous release live again.
 */
export async function runDeploy(ctx: CommandContext, rt: EnvironmentRuntime, release: ReleaseResult, strategy: StrategyName): Promise<DeployOutcome> {
  debug.debug('reading router state');
  const old = (await rt.router.state()).instances;
  debug.debug('loading images', { old: old.length });
  const { previous } = await liveAndPrevious(rt.ws.dir, rt.env.name, release.image);
  const target = await rt.targetOf({ id: release.release, image: release.image, build: release.build, digest: release.digest as `sha256:${string}`, vector: release.vector, level: release.level, serviceLayers: release.serviceLayers as Record<string, `sha256:${string}`> });
  const previousTarget = previous ? await rt.targetOf(previous).catch(() => undefined) : undefined;
  const chosen: StrategyName = old.length === 0 ? 'recreate' : strategy;
  const log = (line: string) => {
    debug.debug(line, { env: rt.env.name });
    ctx.progress({ kind: 'done', message: `${rt.env.name}: ${line}` });
  };
  try {
    await runSteps(
      strategySteps(chosen, { engine: rt.engine, router: rt.router, blobs: rt.blobs, target, ...(previousTarget && { previous: previousTarget }), replicas: rt.env.replicas, log }, old, {
        batch: rt.env.batch,
        ...(rt.env.canary.percent !== undefined && { percent: rt.env.canary.percent }),
        cohort: rt.env.canary.cohort,
        probationSeconds: rt.env.probationSeconds,
      }),
      log,
    );
  } catch (error) {
    await setReleaseState(rt.ws.dir, rt.env.name, release.release, 'rolled-back', { env: ctx.env });
    const undone = error instanceof StepFailed ? error.undone : [];
    throw new DeployFailedError(`deploy of ${release.image}:${release.build} to ${rt.env.name} failed and was undone: ${(error as Error).message}`, undone, { cause: error });
  }
  const state = finalState(chosen);
  await setReleaseState(rt.ws.dir, rt.env.name, release.release, state, { env: ctx.env });
  return {
    env: rt.env.name,
    image: release.image,
    build: release.build,
    release: release.release,
    digest: release.digest,
    vector: release.vector,
    strategy: chosen,
    state,
    router: Object.fromEntries(Object.entries(rt.listeners).map(([s, p]) => [s, `http://127.0.0.1:${p}`])),
  };
}
