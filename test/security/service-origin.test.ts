import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestOf } from '../helpers/manifest.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { send, serve, tokenFile, WRITE, type Served } from './service-harness.js';

// A web page the developer opens can make the browser send requests to 127.0.0.1 (a "simple"
// POST needs no preflight), and with DNS rebinding its own host name resolves there. The audit
// drove a --no-auth service with a text/plain POST carrying a foreign Origin and Host. Each
// spelling of that must be refused before anything runs, with a token and without auth alike.

const COMMIT = JSON.stringify({ command: 'commit', options: { services: [{ service: 's1', upload: 'a'.repeat(64) }] } });
const STATUS = JSON.stringify({ command: 'status', options: {} });

for (const mode of ['--tokens', '--no-auth'] as const) {
  describe(`bake serve ${mode}: requests a browser could send`, () => {
    let ws: { dir: string; cleanup(): Promise<void> };
    let served: Served;
    let proxied: Served;
    beforeAll(async () => {
      ws = await raceWorkspace(['s1'], { one: ['s1'] });
      const auth = mode === '--tokens' ? ['--tokens', await tokenFile(ws.dir)] : ['--no-auth'];
      served = await serve(ws.dir, auth);
      proxied = await serve(ws.dir, [...auth, '--allow-host', 'bake.example.com,ci.example.com:8443']);
    });
    afterAll(async () => {
      await served?.stop();
      await proxied?.stop();
      await ws?.cleanup();
    });

    const auth = () => (mode === '--tokens' ? { authorization: `Bearer ${WRITE}` } : {});
    const own = () => `127.0.0.1:${served.port}`;

    it.each<[string, () => Record<string, string>, number]>([
      ['the client itself', () => ({ host: own(), 'content-type': 'application/json' }), 200],
      ['localhost', () => ({ host: `localhost:${served.port}`, 'content-type': 'application/json' }), 200],
      ['a same-origin page', () => ({ host: own(), origin: `http://${own()}`, 'content-type': 'application/json' }), 200],
      ['DNS rebinding (Host: evil.example)', () => ({ host: 'evil.example', 'content-type': 'application/json' }), 403],
      ['DNS rebinding with the port', () => ({ host: `evil.example:${served.port}`, 'content-type': 'application/json' }), 403],
      ['a loopback Host with another port', () => ({ host: '127.0.0.1:1', 'content-type': 'application/json' }), 403],
      ['no Host at all (node itself answers 400)', () => ({ 'content-type': 'application/json' }), 400],
      ['a cross-origin page', () => ({ host: own(), origin: 'http://evil.example', 'content-type': 'application/json' }), 403],
      ['an opaque origin (sandboxed frame)', () => ({ host: own(), origin: 'null', 'content-type': 'application/json' }), 403],
      ['a cross-site fetch', () => ({ host: own(), 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }), 403],
      ['a text/plain POST (no preflight)', () => ({ host: own(), 'content-type': 'text/plain' }), 415],
      ['a form POST', () => ({ host: own(), 'content-type': 'application/x-www-form-urlencoded' }), 415],
      ['a multipart form', () => ({ host: own(), 'content-type': 'multipart/form-data; boundary=x' }), 415],
      ['no content type', () => ({ host: own() }), 415],
      ['a tar to the commands endpoint', () => ({ host: own(), 'content-type': 'application/x-tar' }), 415],
      [
        'the audit: text/plain, foreign Origin and Host',
        () => ({ host: `evil.example:${served.port}`, origin: 'http://evil.example', 'content-type': 'text/plain' }),
        403,
      ],
    ])('%s', async (_name, headers, status) => {
      const answer = await send(served.url, { path: '/v1/commands', headers: { ...headers(), ...auth() }, body: STATUS });
      expect(answer.status, answer.text).toBe(status);
      if (status !== 200 && answer.json) expect(answer.json.error.message).toMatch(/host|origin|cross-site|application\/json|takes/i);
      if (status === 200) expect(answer.text).toMatch(/"result"/);
    });

    it('refuses foreign hosts on every endpoint, uploads and reads included', async () => {
      const evil = { host: 'evil.example', ...auth() };
      expect((await send(served.url, { method: 'GET', path: '/v1/health', headers: evil })).status).toBe(403);
      expect((await send(served.url, { method: 'GET', path: '/v1/queue', headers: evil })).status).toBe(403);
      const tarUpload = { path: `/v1/uploads?digest=sha256:${'0'.repeat(64)}`, body: Buffer.alloc(1024) };
      expect((await send(served.url, { ...tarUpload, headers: { ...evil, 'content-type': 'application/x-tar' } })).status).toBe(403);
      const plain = { host: own(), 'content-type': 'text/plain', ...auth() };
      expect((await send(served.url, { ...tarUpload, headers: plain })).status).toBe(415);
      const cross = { host: own(), origin: 'http://evil.example', 'content-type': 'application/x-tar', ...auth() };
      expect((await send(served.url, { ...tarUpload, headers: cross })).status).toBe(403);
    });

    it('lets a link from another site open a page, but not load anything from it', async () => {
      const get = (mode: string) =>
        send(served.url, {
          method: 'GET',
          path: '/v1/health',
          headers: { host: own(), 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': mode },
        });
      expect((await get('navigate')).status).toBe(200);
      expect((await get('no-cors')).status).toBe(403);
      expect((await get('cors')).status).toBe(403);
      const post = {
        host: own(),
        'sec-fetch-site': 'cross-site',
        'sec-fetch-mode': 'navigate',
        'content-type': 'application/json',
        ...auth(),
      };
      expect((await send(served.url, { path: '/v1/commands', headers: post, body: STATUS })).status).toBe(403);
    });

    it('a refused commit runs nothing', async () => {
      const attack = { host: `evil.example:${served.port}`, origin: 'http://evil.example', 'content-type': 'text/plain', ...auth() };
      expect((await send(served.url, { path: '/v1/commands', headers: attack, body: COMMIT })).status).toBe(403);
      expect(await manifestOf(ws.dir)).toMatchObject({ generation: 0, services: {} });
    });

    it('answers to the names given with --allow-host, and still to nothing else', async () => {
      const post = (host: string, origin?: string) =>
        send(proxied.url, {
          path: '/v1/commands',
          headers: { host, 'content-type': 'application/json', ...(origin && { origin }), ...auth() },
          body: STATUS,
        });
      expect((await post('bake.example.com')).status).toBe(200);
      expect((await post('BAKE.example.com:443')).status).toBe(200);
      expect((await post('ci.example.com:8443')).status).toBe(200);
      expect((await post('ci.example.com:9999')).status).toBe(403);
      expect((await post('evil.example.com')).status).toBe(403);
      expect((await post('bake.example.com', 'http://evil.example')).status).toBe(403);
    });
  });
}
