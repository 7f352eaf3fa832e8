import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlServer } from '../../src/router/control-server.js';
import { startRouter, type Router } from '../../src/router/router.js';

// The router's control API over a real socket on 127.0.0.1 (no instances, no Docker).
describe('the router control API', () => {
  let router: Router;
  let control: { port: number; close(): Promise<void> };
  beforeAll(async () => {
    router = await startRouter({});
    control = await startControlServer(router);
  });
  afterAll(async () => {
    await control?.close();
    await router?.close();
  });

  it('sets routes and toggles from small JSON bodies', async () => {
    const put = async (path: string, body: unknown) => {
      const res = await fetch(`http://127.0.0.1:${control.port}${path}`, { method: 'PUT', body: JSON.stringify(body) });
      await res.text();
      return res.status;
    };
    expect(await put('/routes', { weights: { 1: 1 } })).toBe(200);
    expect(await put('/toggles/new-search', { on: true })).toBe(200);
    const state = await (await fetch(`http://127.0.0.1:${control.port}/state`)).json();
    expect(state.routes).toEqual({ weights: { 1: 1 } });
    expect(state.toggles).toEqual({ 'new-search': true });
  });

  it('refuses an endless body with 413 after reading at most about 1 MiB', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: control.port, method: 'PUT', path: '/routes' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      // Keeps writing until the server answers: a body with no end.
      const pump = () => {
        while (!req.destroyed && req.write(chunk));
        if (!req.destroyed) req.once('drain', pump);
      };
      pump();
    });
    expect(status).toBe(413);
  });

  it('answers 404 for an unknown request', async () => {
    const res = await fetch(`http://127.0.0.1:${control.port}/nothing`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/no such control request: GET \/nothing/);
  });
});
