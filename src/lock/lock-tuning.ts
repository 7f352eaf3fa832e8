/**
 * Lock timing from the environment, so operators (and crash tests) can tune how fast a dead
 * holder's lock is reclaimed and how long to wait: BAKE_LOCK_STALE_MS, BAKE_LOCK_TIMEOUT_MS.
 * proper-lockfile will not go below 2000 ms for staleness.
 */
export function lockTuning(env: NodeJS.ProcessEnv = process.env): { staleMs?: number; timeoutMs?: number } {
  const stale = Number(env['BAKE_LOCK_STALE_MS']);
  const timeout = Number(env['BAKE_LOCK_TIMEOUT_MS']);
  return {
    ...(Number.isFinite(stale) && stale > 0 && { staleMs: Math.max(2000, stale) }),
    ...(Number.isFinite(timeout) && timeout > 0 && { timeoutMs: timeout }),
  };
}
