import { BakeError } from '../util/errors.js';
import { httpGet } from '../util/http-get.js';
import { createLogger } from '../util/log.js';

const log = createLogger('deploy:health');

/** A service did not become healthy (or did not serve the expected version) in time. */
export class HealthError extends BakeError {
  override name = 'HealthError';
  override readonly kind: string = 'unhealthy';
}

/** How long a new instance may take to become healthy, unless tuned. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;

/**
 * The health timeout from BAKE_HEALTH_TIMEOUT_MS (slow hosts raise it, tests lower it), else the
 * default. A value that is not a positive number is ignored, as the lock tuning does.
 */
export function healthTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env['BAKE_HEALTH_TIMEOUT_MS']);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_HEALTH_TIMEOUT_MS;
}

export interface HealthTarget {
  service: string;
  /** Port on `host`. */
  port: number;
  /** Default 127.0.0.1; a swarm task answers on its node's address. */
  host?: string;
  path: string;
  /** When set, GET /version must mention this version. */
  version?: number;
}

/**
 * Polls http://127.0.0.1:<port><path> until it answers 200 (and /version names the expected
 * version), or throws HealthError after `timeoutMs` with the last thing it saw, or once `signal` aborts.
 */
export async function waitHealthy(target: HealthTarget, timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (signal?.aborted)
      throw new HealthError(`stopped waiting for ${target.service} on ${target.host ?? '127.0.0.1'}:${target.port}: interrupted`);
    const health = await httpGet(target.port, target.path, 2000, target.host);
    last = health.error ?? `HTTP ${health.status} on ${target.path}`;
    if (health.status >= 200 && health.status < 300) {
      if (target.version === undefined) return;
      const version = await httpGet(target.port, '/version', 2000, target.host);
      const text = version.body.trim();
      last = version.error ?? `/version says ${JSON.stringify(text)}`;
      if (version.status === 200 && text.split(/\s+/).includes(String(target.version))) return;
    }
    log.debug('not yet healthy', { service: target.service, port: target.port, last });
    // Short polls: a busybox service is up within tens of milliseconds of its container.
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new HealthError(`${target.service} on ${target.host ?? '127.0.0.1'}:${target.port} is not healthy after ${timeoutMs} ms (${last})`);
}
