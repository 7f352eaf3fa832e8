import type { ReleaseRecord } from '../manifest/model.js';
import type { AppContext } from './context.js';
import { openEnvironment } from './swarm-runtime.js';
import { environmentConfig, liveAndPrevious, withEnvironmentLock, type EnvironmentRuntime } from './environment-runtime.js';
import { promoteRelease, stopRecord, withdrawRelease } from './release-moves.js';

/** Seconds a paused rollout may make no progress before it is aborted, unless bake.yaml says otherwise (as Argo Rollouts). */
export const DEFAULT_PROGRESS_DEADLINE = 600;

/** What is due in an environment: a blue/green probation that ran out, or a paused rollout past its deadline. */
export type DueChange = { kind: 'probation-end'; release: ReleaseRecord } | { kind: 'deadline'; release: ReleaseRecord; since: string };

/** What is due now, from the manifest alone (no engine, no router): cheap enough to poll. */
export async function dueChange(
  workspace: string,
  env: string,
  image: string,
  deadlineSeconds: number,
  now = Date.now(),
): Promise<DueChange | undefined> {
  const { live } = await liveAndPrevious(workspace, env, image);
  if (live?.state !== 'probation') return undefined;
  if (live.strategy === 'blue-green' && live.probationUntil && Date.parse(live.probationUntil) <= now && !live.rollout?.paused) {
    return { kind: 'probation-end', release: live };
  }
  const paused = live.rollout?.paused;
  if (paused && (paused.reason === 'inconclusive' || paused.reason === 'interrupted')) {
    const since = live.rollout?.progressAt ?? paused.at;
    if (Date.parse(since) + deadlineSeconds * 1000 <= now) return { kind: 'deadline', release: live, since };
  }
  return undefined;
}

/**
 * Does what is due in an environment, under its lock (the caller holds it): retires the idle old
 * fleet of a blue/green release whose probation ran out and commits it, or aborts a rollout that
 * made no progress for the deadline (recorded with the reason). Whoever next touches the
 * environment calls this, and so does its router process. Returns what it did, if anything.
 */
export async function settleEnvironment(ctx: AppContext, rt: EnvironmentRuntime): Promise<DueChange | undefined> {
  const deadline = rt.env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE;
  const due = await dueChange(rt.ws.dir, rt.env.name, rt.env.image, deadline);
  if (!due) return undefined;
  if (due.kind === 'probation-end') {
    const { previous } = await liveAndPrevious(rt.ws.dir, rt.env.name, rt.env.image);
    await promoteRelease(ctx, rt, due.release, previous, {
      kind: 'probation-end',
      note: `probation ended at ${due.release.probationUntil}; the old fleet was retired`,
    });
  } else {
    const message = `no progress since ${due.since} (deadline ${deadline} s): the rollout was aborted`;
    await withdrawRelease(ctx, rt, due.release, {
      kind: 'abort',
      note: message,
      stopped: stopRecord(ctx, { reason: 'deadline', message }),
    });
  }
  return due;
}

export interface SettleOptions {
  env: string;
  /** How long to wait for the environment's lock; a deploy that holds it settles the environment itself. */
  lockTimeoutMs?: number;
}

/** What `settle` did: nothing, a probation end, or a deadline abort. */
export interface SettleResult {
  env: string;
  done: DueChange['kind'] | null;
  release: number | null;
}

/**
 * The use case the router process runs on a timer (and anyone may run): does what is due in the
 * environment, if anything. Only opens the engine when something is due. Throws what the lock and
 * the moves throw (LockError when the lock stays held past `lockTimeoutMs`).
 */
export async function settle(ctx: AppContext, options: SettleOptions): Promise<SettleResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  const deadline = env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE;
  if (!(await dueChange(ws.dir, env.name, env.image, deadline))) return { env: env.name, done: null, release: null };
  return withEnvironmentLock(
    ctx,
    env.name,
    async () => {
      const done = await settleEnvironment(ctx, await openEnvironment(ctx, ws, env));
      return { env: env.name, done: done?.kind ?? null, release: done?.release.id ?? null };
    },
    { ...(options.lockTimeoutMs !== undefined && { timeoutMs: options.lockTimeoutMs }) },
  );
}
