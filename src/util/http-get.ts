import { HttpClientError, httpRequest } from './http-client.js';

/**
 * GET http://<host>:<port><path> (host: 127.0.0.1 unless a swarm node's address) with a hard
 * timeout (health and version checks); resolves with status and body, or with status 0 and the
 * error; never rejects. A fresh connection each time, so a container that has just restarted is
 * never asked over a stale one.
 */
export async function httpGet(
  port: number,
  path: string,
  timeoutMs = 2000,
  host = '127.0.0.1',
): Promise<{ status: number; body: string; error?: string }> {
  try {
    const response = await httpRequest(`http://${host}:${port}${path}`, { timeoutMs, maxBodyBytes: 1 << 20 });
    return { status: response.status, body: await response.text() };
  } catch (error) {
    const reason =
      error instanceof HttpClientError && error.reason === 'timeout' ? `no answer within ${timeoutMs} ms` : (error as Error).message;
    return { status: 0, body: '', error: reason };
  }
}
