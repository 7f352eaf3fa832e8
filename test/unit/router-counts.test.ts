import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlServer } from '../../src/router/control-server.js';
import { routerClient } from '../../src/router/router-client.js';
import { startRouter, type Router } from '../../src/router/router.js';

// The router in front of a raw upstream that answers like busybox httpd's CGI (LF-only header
// lines), on 127.0.0.1: lenient parsing, per-release counts, in-place updates, toggles by version.
describe('the router with a lenient upstream', () => {
  let upstream: Server;
  let port = 0;
  let router: Router;
  let control: { port: number; close(): Promise<void> };
  beforeAll(async () => {
    upstream = createServer((socket) => {
      socket.once('data', (data) => {
        const failing = data.toString().startsWith('GET /fail');
        socket.end(
          failing
            ? 'HTTP/1.1 500 Internal Server Error\nContent-Type: text/plain\n\nboom\n'
            : 'HTTP/1.0 200 OK\nContent-Type: text/plain\n\nhello\n',
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    port = (upstream.address() as { port: number }).port;
    router = await startRouter({ web: 0 });
    control = await startControlServer(router);
    router.add({ id: 'i1', release: 1, vector: { web: 1 }, ports: { web: port }, health: {} });
  });
  afterAll(async () => {
    await control?.close();
    await router?.close();
    await new Promise((r) => upstream?.close(r));
  });

  it('passes an LF-only answer through, and counts requests, 5xx errors and latency per release', async () => {
    const ok = await fetch(`http://127.0.0.1:${router.listeners['web']}/`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('hello\n');
    expect((await fetch(`http://127.0.0.1:${router.listeners['web']}/fail`)).status).toBe(500);
    const client = routerClient(control.port);
    const stats = await client.stats();
    expect(stats['1']).toMatchObject({ requests: 2, errors: 1, errorRate: 0.5 });
    expect(stats['1']?.p99).toEqual(expect.any(Number));
    await client.resetStats();
    expect(await client.stats()).toEqual({});
  });

  it('updates an instance in place and sends a toggle only to versions that meet it', async () => {
    const client = routerClient(control.port);
    await client.setToggle('search', true, { requires: [{ service: 'web', version: 2 }], conflict: 'off' });
    const before = await fetch(`http://127.0.0.1:${router.listeners['web']}/`);
    expect(before.headers.get('x-bake-features')).toBe('');
    await client.update('i1', { release: 2, vector: { web: 2 } });
    const after = await fetch(`http://127.0.0.1:${router.listeners['web']}/`);
    expect(after.headers.get('x-bake-release')).toBe('2');
    expect(after.headers.get('x-bake-features')).toBe('search');
    expect((await client.state()).toggleRules).toEqual({ search: { requires: [{ service: 'web', version: 2 }], conflict: 'off' } });
    await expect(client.update('nope', { draining: true })).rejects.toThrow(/no instance nope/);
  });
});
