import { request } from 'node:http';

/**
 * GET http://127.0.0.1:<port><path> with a hard timeout; resolves with status and body, or with
 * status 0 and the error. node:http rather than fetch: a fetch to a port a container has just
 * published can stall with nothing keeping the process alive (its timeout timer is unref'd), and
 * the CLI then exits silently mid-deploy.
 */
export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (value: { status: number; body: string; error?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => done({ status: 0, body: '', error: error.message }));
    });
    // A ref'd timer: the process stays alive until the check settles, one way or the other.
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, body: '', error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (error) => done({ status: 0, body: '', error: error.message }));
    req.end();
  });
}
