import { findEnvironmentRouter as findRouter } from './cluster-router.js';
import { releaseImage } from '../release/release.js';
import type { Digest } from '../util/digest.js';
import { BakeError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { openEnvironment } from './swarm-runtime.js';
import { environmentConfig, liveAndPrevious, withEnvironmentLock } from './environment-runtime.js';
import { stopRecord, withdrawRelease } from './release-moves.js';
import { rollOut, rolloutRelease } from './rollout.js';
import { allowedRevokedNote, revokedOnRollback } from './revoked-rollback.js';
import { DEFAULT_PROGRESS_DEADLINE, dueChange, settleEnvironment } from './settle.js';
import { guardToggles } from './toggle-guard.js';

export interface RollbackOptions {
  env: string;
  /** Go back even to a release that holds a revoked version (recorded). */
  allowRevoked?: boolean;
}

/** A release on probation was withdrawn: `to` is the release that serves again, if any. */
export interface WithdrawResult {
  env: string;
  from: number;
  to: number | null;
  digest: Digest | null;
  /** Milliseconds from taking the lock to traffic being back on the other fleet (nothing restarted). */
  switchedMs?: number;
  togglesOff?: string[];
}

/** A committed release was replaced by a new release of the previous build. */
export interface RedeployResult {
  env: string;
  from: number;
  to: number;
  build: number;
  digest: Digest;
  togglesOff?: string[];
}

/** What `bake rollback --json` prints: the two shapes differ by `build`. */
export type RollbackResult = WithdrawResult | RedeployResult;

/**
 * Returns an environment to its previous release, under its lock. A release on probation (a
 * blue/green whose old fleet is still up, a canary, A/B) is withdrawn: traffic switches back to the
 * instances still running at once — before anything else is opened, so it takes well under a
 * second and restarts nothing — then its instances are retired and it is marked rolled-back. A
 * committed release is replaced by redeploying the previous release's build as a new release
 * (blue-green, recorded with --rollback). Live toggles the previous versions do not meet are turned
 * off first, or refused (ToggleConflictError, exit 3). It never goes back to a revoked version
 * unless `allowRevoked` (RevokedRefusedError, exit 3, before anything moves), nor to code older
 * than a contract migration that ran (IncompatibleRefusedError, exit 3, naming the migration; no
 * override). Throws BakeError when nothing runs or there is nothing to go back to, and what
 * deploy throws.
 */
export async function rollback(ctx: AppContext, options: RollbackOptions): Promise<RollbackResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  return withEnvironmentLock(ctx, env.name, async () => {
    const started = performance.now();
    if (await dueChange(ws.dir, env.name, env.image, env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE)) {
      await settleEnvironment(ctx, await openEnvironment(ctx, ws, env));
    }
    const { live, previous } = await liveAndPrevious(ws.dir, env.name, env.image);
    if (!live) throw new BakeError(`${env.name} runs nothing to roll back`);
    if (live.state === 'probation') {
      const revoked = previous ? await revokedOnRollback(ws.dir, env.name, previous, options.allowRevoked === true) : [];
      const togglesOff = previous ? await guardToggles(ctx, ws.dir, env.name, [previous.vector], 'rollback') : [];
      const router = await findRouter(ws.dir, env.name);
      let switchedMs: number | undefined;
      if (router) {
        const others = [
          ...new Set((await router.client.state()).instances.filter((i) => i.release !== live.id).map((i) => String(i.release))),
        ];
        if (others.length > 0) {
          await router.client.setRoutes({ weights: Object.fromEntries(others.map((r) => [r, 1])) });
          switchedMs = Math.round(performance.now() - started);
          ctx.progress({ kind: 'done', message: `${env.name}: traffic is back on release ${others.join(', ')} (${switchedMs} ms)` });
        }
      }
      const note =
        `rolled back during probation${switchedMs !== undefined ? `: traffic switched back in ${switchedMs} ms` : ''}` +
        allowedRevokedNote(revoked);
      await withdrawRelease(ctx, await openEnvironment(ctx, ws, env), live, {
        note,
        stopped: stopRecord(ctx, { reason: 'abort', message: note }),
      });
      return {
        env: env.name,
        from: live.id,
        to: previous?.id ?? null,
        digest: previous?.digest ?? null,
        ...(switchedMs !== undefined && { switchedMs }),
        ...(togglesOff.length > 0 && { togglesOff }),
      };
    }
    if (!previous) throw new BakeError(`${env.name} has no previous release to roll back to`);
    const togglesOff = await guardToggles(ctx, ws.dir, env.name, [previous.vector], 'rollback');
    const release = await releaseImage(ws.dir, env.image, env.name, {
      build: previous.build,
      rollback: true,
      allowStale: true,
      allowRevoked: options.allowRevoked === true,
      acceptsDev: env.dev,
      initialState: 'installing',
      env: ctx.env,
      extra: { strategy: 'blue-green' },
      rollout: { strategy: 'blue-green', replicas: env.replicas, batch: env.batch },
    });
    const rt = await openEnvironment(ctx, ws, env);
    // Going back keeps nothing on probation: the release being left is what is wrong.
    const outcome = await rollOut(
      ctx,
      { ...rt, env: { ...rt.env, probationSeconds: 0, preview: false } },
      rolloutRelease(release),
      'blue-green',
    );
    return {
      env: env.name,
      from: live.id,
      to: outcome.release,
      build: previous.build,
      digest: outcome.digest,
      ...(togglesOff.length > 0 && { togglesOff }),
    };
  });
}
