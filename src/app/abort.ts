import type { RolloutStop } from '../manifest/model.js';
import { NO_FIGURES } from '../router/release-stats.js';
import { BakeError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { openEnvironment } from './swarm-runtime.js';
import { environmentConfig, liveAndPrevious, withEnvironmentLock } from './environment-runtime.js';
import { stopRecord, withdrawRelease } from './release-moves.js';

export interface AbortOptions {
  env: string;
}

/** What `bake abort --json` prints: the release withdrawn, the one serving again, and why it stopped. */
export interface AbortResult {
  env: string;
  release: number;
  to: number | null;
  stopped: RolloutStop;
}

/**
 * Withdraws the rollout on probation by hand (a canary, an A/B, a blue/green whose old fleet is
 * still up, a preview): traffic goes back, its instances are retired, it is marked rolled-back, and
 * the abort is recorded with the figures the router counted for both sides, so `bake status` says
 * why it stopped and `bake deploy --retry` can start it again. Throws BakeError when nothing is on
 * probation, StepsUndoneError/UndoFailedError when the withdrawal fails.
 */
export async function abort(ctx: AppContext, options: AbortOptions): Promise<AbortResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  return withEnvironmentLock(ctx, env.name, async () => {
    const { live, previous } = await liveAndPrevious(ws.dir, env.name, env.image);
    if (live?.state !== 'probation') {
      throw new BakeError(`${env.name} has no rollout on probation to abort${live ? ` (release ${live.id} is ${live.state})` : ''}`);
    }
    const rt = await openEnvironment(ctx, ws, env);
    const figures = await rt.router.stats();
    const stable = previous ? (figures[String(previous.id)] ?? NO_FIGURES) : NO_FIGURES;
    const message = `aborted by hand (${live.strategy ?? 'rollout'} of release ${live.id})`;
    const stopped = stopRecord(ctx, { reason: 'abort', message, figures: { canary: figures[String(live.id)] ?? NO_FIGURES, stable } });
    await withdrawRelease(ctx, rt, live, { kind: 'abort', note: message, stopped });
    return { env: env.name, release: live.id, to: previous?.id ?? null, stopped };
  });
}
