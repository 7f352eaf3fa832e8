import { request } from 'node:http';

export interface LoadResult {
  ok: number;
  failed: number;
  failures: string[];
  /** Release that served each response, in the order responses arrived. */
  releases: number[];
  /** Each response with when its request was sent and when it finished (ms, performance.now). */
  timeline: { release: number; sent: number; done: number }[];
}

/**
 * A bounded load loop against a URL (127.0.0.1, or a cluster node's address): `concurrency` clients issuing GETs back to
 * back until stopped (or at most `maxRequests`/`maxMs`). Any non-2xx answer or socket error is a
 * failure.
 */
export function startLoad(
  url: string,
  options: { concurrency?: number; headers?: Record<string, string>; maxRequests?: number; maxMs?: number } = {},
): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, failed: 0, failures: [], releases: [], timeline: [] };
  const target = new URL(url);
  const deadline = Date.now() + (options.maxMs ?? 120_000);
  const max = options.maxRequests ?? 20_000;
  let running = true;
  const one = () =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const req = request(
        { host: target.hostname, port: target.port, path: target.pathname, headers: options.headers ?? {}, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              result.ok++;
              result.releases.push(Number(res.headers['x-bake-release']));
              result.timeline.push({ release: Number(res.headers['x-bake-release']), sent, done: performance.now() });
            } else {
              result.failed++;
              result.failures.push(`HTTP ${status}`);
            }
            resolve();
          });
        },
      );
      req.on('error', (error) => {
        result.failed++;
        result.failures.push(error.message);
        resolve();
      });
      req.end();
    });
  const client = async () => {
    while (running && Date.now() < deadline && result.ok + result.failed < max) await one();
  };
  const clients = Array.from({ length: options.concurrency ?? 4 }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      return result;
    },
  };
}
