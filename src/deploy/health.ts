import { BakeError } from '../errors.js';

/** A service did not become healthy (or did not serve the expected version) in time. */
export class HealthError extends BakeError {
  override name = 'HealthError';
  override readonly kind: string = 'unhealthy';
}

export interface HealthTarget {
  service: string;
  /** Host port on 127.0.0.1. */
  port: number;
  path: string;
  /** When set, GET /version must mention this version. */
  version?: number;
}

/**
 * Polls http://127.0.0.1:<port><path> until it answers 200 (and /version names the expected
 * version), or throws HealthError after `timeoutMs` with the last thing it saw.
 */
export async function waitHealthy(target: HealthTarget, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const health = await fetch(`http://127.0.0.1:${target.port}${target.path}`, { signal: AbortSignal.timeout(2000) });
      last = `HTTP ${health.status} on ${target.path}`;
      if (health.ok) {
        if (target.version === undefined) return;
        const version = await fetch(`http://127.0.0.1:${target.port}/version`, { signal: AbortSignal.timeout(2000) });
        const text = (await version.text()).trim();
        last = `/version says ${JSON.stringify(text)}`;
        if (version.ok && text.split(/\s+/).includes(String(target.version))) return;
      }
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new HealthError(`${target.service} on 127.0.0.1:${target.port} is not healthy after ${timeoutMs} ms (${last})`);
}
