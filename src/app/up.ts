import { releaseImage } from '../release/release.js';
import { BakeError } from '../util/errors.js';
import { build } from './build.js';
import type { AppContext } from './context.js';
import { environmentConfig, openRuntime, routerUrls, withEnvironmentLock } from './environment-runtime.js';
import { rollOut, rolloutRelease, type DeployResult } from './rollout.js';
import { DEFAULT_PROGRESS_DEADLINE, dueChange, settleEnvironment } from './settle.js';
import { rollOutOnSwarm, swarmOf } from './swarm-rollout.js';
import { guardToggles } from './toggle-guard.js';

export interface UpOptions {
  /** The environment; may be omitted when bake.yaml declares one. */
  env?: string;
  /** Bake from the working trees, uncommitted edits included (only dev: true environments accept it). */
  dev?: boolean;
}

/** What `bake up --json` prints: the deploy's result, and whether the build was a dev build. */
export interface UpResult extends DeployResult {
  dev: boolean;
}

/**
 * Brings an environment up locally, like vagrant up: commits the image's services (unless
 * `dev`), bakes the image, releases it through the race gate and rolls it out with the
 * environment's strategy. Running it again updates the environment; when the build is already
 * live and running, nothing changes. Throws what build, the gate and deploy throw.
 */
export async function up(ctx: AppContext, options: UpOptions = {}): Promise<UpResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  const dev = options.dev === true;
  const built = (await build(ctx, { images: [env.image], commit: !dev, dev })).builds[0];
  if (!built) throw new BakeError(`bake up ${env.name}: building ${env.image} gave no build`);
  const outcome = await withEnvironmentLock(ctx, env.name, async (): Promise<DeployResult> => {
    if (await dueChange(ws.dir, env.name, env.image, env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE)) {
      await settleEnvironment(ctx, await openRuntime(ctx, ws, env));
    }
    await guardToggles(ctx, ws.dir, env.name, [built.vector], 'up');
    const release = await releaseImage(ws.dir, env.image, env.name, {
      build: built.build,
      acceptsDev: env.dev,
      initialState: 'installing',
      env: ctx.env,
      progress: ctx.progress,
    });
    // On a swarm the engine converges the service on the release (nothing to do when it already runs it).
    if (swarmOf(env)) return rollOutOnSwarm(ctx, ws, env, rolloutRelease(release), 'rolling');
    const rt = await openRuntime(ctx, ws, env);
    if (!release.unchanged) return rollOut(ctx, rt, rolloutRelease(release), env.strategy);
    // Already live: start it only when nothing runs (after bake down, or a reboot).
    if ((await rt.router.state()).instances.length === 0) return rollOut(ctx, rt, rolloutRelease(release), 'recreate');
    const { env: name, image, build: id, release: releaseId, digest, vector } = release;
    return {
      env: name,
      image,
      build: id,
      release: releaseId,
      digest,
      vector,
      strategy: env.strategy,
      state: 'committed',
      router: routerUrls(rt.listeners),
    };
  });
  return { ...outcome, dev };
}
