import { request } from 'node:http';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { startServe, type ServeProcess } from './service-process.js';

// The dashboard's HTTP contract without a browser: what is public, what needs which token, the
// page's security headers, the event stream, and a service that still stops while a page watches.
const tools = requireTools('git');

/** A raw GET: fetch would normalise `..` away, and the point is what the server does with it. */
function rawGet(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

describe.skipIf(tools.skip)("the dashboard's HTTP side", () => {
  let repo: Repo;
  let service: ServeProcess;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const manifestGeneration = async () => (await manifestOf(repo.dir)).generation;

  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    const setup = [await bake(['-C', repo.dir, 'commit', '--all']), await bake(['-C', repo.dir, 'build', 'shop'])];
    expect(setup.map((r) => r.exitCode)).toEqual([0, 0]);
    expect((await bake(['-C', repo.dir, 'release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    service = await startServe(repo.dir);
  });
  afterAll(async () => {
    await service?.stop();
    await repo?.cleanup();
  });

  it('serves the page and its assets to anyone, under a strict Content-Security-Policy, with no inline script', async () => {
    const page = await fetch(`${service.url}/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/assets\/[\w.-]+"/);
      expect(body?.trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle=|<style\b|\son[a-z]+=/i);
    const js = await fetch(`${service.url}/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = js.headers.get('etag') ?? '';
    expect((await fetch(`${service.url}/assets/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${service.url}/assets/app.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    // Nothing a path says reaches outside the built assets: a dot-dot path (plain or encoded) is
    // not the dashboard's at all once the URL is parsed (the service wants a token for it), and an
    // encoded slash makes no asset name.
    for (const path of ['/assets/../package.json', '/assets/%2e%2e/package.json']) expect(await rawGet(service.url, path), path).toBe(401);
    for (const path of ['/assets/..%2f..%2fpackage.json', '/assets/', '/assets/nope.js', '/assets/index.html']) {
      expect(await rawGet(service.url, path), path).toBe(404);
    }
  });

  it('answers reads and events only with a token; a read token reads everything', async () => {
    expect((await fetch(`${service.url}/v1/dashboard/environments`)).status).toBe(401);
    expect((await fetch(`${service.url}/v1/events`)).status).toBe(401);
    expect((await fetch(`${service.url}/v1/dashboard/builds`, { headers: auth('x'.repeat(40)) })).status).toBe(401);
    // Asked before the page has a token: said, not refused.
    expect(await (await fetch(`${service.url}/v1/dashboard/session`)).json()).toEqual({ auth: true, role: null });
    const session = await (await fetch(`${service.url}/v1/dashboard/session`, { headers: auth(service.tokens.read) })).json();
    expect(session).toMatchObject({ auth: true, role: 'read', name: 'viewer', generation: await manifestGeneration() });
    for (const view of ['environments', 'services', 'builds', 'refusals', 'history']) {
      const res = await fetch(`${service.url}/v1/dashboard/${view}`, { headers: auth(service.tokens.read) });
      expect(res.status, view).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const environments = (await (
      await fetch(`${service.url}/v1/dashboard/environments`, { headers: auth(service.tokens.read) })
    ).json()) as any;
    const prod = environments.environments.find((e: { name: string }) => e.name === 'prod');
    expect(prod.live[0]).toMatchObject({ image: 'shop', build: 1, vector: { catalog: 1, cart: 1, web: 1 } });
    expect(prod.declared).toMatchObject({ image: 'shop', strategy: 'blue-green', replicas: 2 });
    const builds = (await (
      await fetch(`${service.url}/v1/dashboard/builds?image=shop`, { headers: auth(service.tokens.read) })
    ).json()) as any;
    const layers = builds.page.items[0].layers as { size: number; service?: string }[];
    expect(layers.map((l) => l.service).filter(Boolean)).toEqual(['catalog', 'cart', 'web']);
    expect(layers.every((l) => l.size > 0)).toBe(true);
    for (const query of ['limit=0', 'limit=9999', 'offset=-1', 'service=..%2Fetc', 'nope=1', 'actor=a%0Ab']) {
      const path = query.startsWith('actor') ? 'history' : 'services';
      expect((await fetch(`${service.url}/v1/dashboard/${path}?${query}`, { headers: auth(service.tokens.read) })).status, query).toBe(400);
    }
  });

  it('runs actions only for a write token: a read token is refused in the answer and nothing changes', async () => {
    const before = await manifestGeneration();
    const act = async (token: string, body: unknown) => {
      const res = await fetch(`${service.url}/v1/dashboard/actions`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        lines: (await res.text())
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      };
    };
    const viewer = await act(service.tokens.read, { action: 'rollback', env: 'prod' });
    expect(viewer.status).toBe(200);
    expect(viewer.lines.at(-1).error).toMatchObject({ kind: 'forbidden', refused: true });
    expect(viewer.lines.at(-1).error.message).toMatch(/needs a write token/);
    // The same use case as `bake promote`: nothing is on probation, so it says so, and records nothing.
    const promote = await act(service.tokens.write, { action: 'promote', env: 'prod' });
    expect(promote.lines.at(-1).error).toMatchObject({ refused: false });
    expect(promote.lines.at(-1).error.message).toMatch(/no release on probation to promote/);
    const local = await bake(['-C', repo.dir, '--json', 'promote', '--env', 'prod']);
    expect(local.json.error.message).toBe(promote.lines.at(-1).error.message);
    expect((await act(service.tokens.write, { action: 'deploy', env: 'prod' })).status).toBe(400);
    expect((await act(service.tokens.write, { action: 'toggle', env: 'prod', feature: 'a,b', on: true })).status).toBe(400);
    expect((await act(service.tokens.write, { action: 'promote', env: '../etc' })).status).toBe(400);
    const form = await fetch(`${service.url}/v1/dashboard/actions`, {
      method: 'POST',
      headers: { ...auth(service.tokens.write), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=promote&env=prod',
    });
    expect(form.status).toBe(415);
    expect(await manifestGeneration()).toBe(before);
  });

  it('streams a manifest event when something is recorded, and still stops promptly while a page watches', async () => {
    const controller = new AbortController();
    const res = await fetch(`${service.url}/v1/events`, { headers: auth(service.tokens.read), signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const next = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${pattern}: ${text}`);
        text += value;
      }
      return text;
    };
    const generation = await manifestGeneration();
    await next(new RegExp(`event: hello\\ndata: \\{"type":"hello","generation":${generation}\\}`));
    await appendFile(join(repo.dir, 'services', 'web', 'VERSION'), 'web 2\n');
    await repo.commitAll('web 2', '2026-01-05T00:00:00Z');
    expect((await bake(['-C', repo.dir, 'commit', 'web'])).exitCode).toBe(0);
    await next(new RegExp(`event: manifest\\ndata: \\{"type":"manifest","generation":${generation + 1}\\}`));
    const stopped = await service.stop();
    expect(stopped.signal ?? stopped.code).not.toBe('SIGKILL');
    expect(stopped.ms).toBeLessThan(3000);
    controller.abort();
  });
});
