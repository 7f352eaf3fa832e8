import { runSteps } from '../deploy/steps.js';
import { setReleaseState } from '../release/release-state.js';
import { routeStep } from '../deploy/operations.js';
import { BakeError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { openEnvironment } from './swarm-runtime.js';
import { deployContext } from './deploy-context.js';
import { environmentConfig, liveAndPrevious, withEnvironmentLock } from './environment-runtime.js';
import { promoteRelease } from './release-moves.js';
import { guardToggles } from './toggle-guard.js';

export interface PromoteOptions {
  env: string;
}

/** What `bake promote --json` prints: committed, or (a blue/green preview switched) on probation until a time. */
export interface PromoteResult {
  env: string;
  release: number;
  state: 'committed' | 'probation';
  probationUntil?: string;
  togglesOff?: string[];
}

/**
 * Finishes a release on probation under the environment's lock: a canary or A/B gets the full
 * replica count and all traffic, the other instances are retired, and it is committed; a
 * blue/green on probation retires its idle old fleet now; a blue/green preview switches traffic to
 * the new fleet (then keeps the old one for `probation` seconds, when set). A failed step is undone
 * (StepsUndoneError, UndoFailedError) and the release stays on probation. Throws BakeError when no
 * release is on probation, ToggleConflictError (exit 3) when a live toggle refuses.
 */
export async function promote(ctx: AppContext, options: PromoteOptions): Promise<PromoteResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  return withEnvironmentLock(ctx, env.name, async () => {
    const { live, previous } = await liveAndPrevious(ws.dir, env.name, env.image);
    if (live?.state !== 'probation') {
      throw new BakeError(`${env.name} has no release on probation to promote${live ? ` (release ${live.id} is ${live.state})` : ''}`);
    }
    const togglesOff = await guardToggles(ctx, ws.dir, env.name, [live.vector], 'promote');
    const off = togglesOff.length > 0 ? { togglesOff } : {};
    const rt = await openEnvironment(ctx, ws, env);
    const others = (await rt.router.state()).instances.filter((i) => i.release !== live.id);
    if (live.rollout?.paused?.reason === 'preview' && env.probationSeconds > 0 && others.length > 0) {
      const deploy = deployContext(ctx, rt, await rt.targetOf(live));
      await runSteps([routeStep(deploy, `switch all traffic to release ${live.id}`, { weights: { [String(live.id)]: 1 } })], {
        what: `switch of ${env.name} to release ${live.id}`,
        log: deploy.log,
      });
      const probationUntil = new Date(Date.now() + env.probationSeconds * 1000).toISOString();
      await setReleaseState(ws.dir, env.name, live.id, 'probation', {
        env: ctx.env,
        kind: 'promote',
        note: `switched from preview; the old fleet stays up, idle, until ${probationUntil}`,
        patch: { probationUntil, rollout: undefined },
      });
      return { env: env.name, release: live.id, state: 'probation', probationUntil, ...off };
    }
    const how = live.strategy === 'blue-green' ? 'the idle old fleet retired early' : `promoted by hand (${live.strategy ?? 'canary'})`;
    await promoteRelease(ctx, rt, live, previous, { note: how });
    return { env: env.name, release: live.id, state: 'committed', ...off };
  });
}
