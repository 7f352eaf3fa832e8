import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClientError, httpRequest, httpStream } from '../../src/util/http-client.js';
import { requireTools } from '../helpers/require-tools.js';
import { selfSignedCertificate } from '../helpers/self-signed.js';

interface Seen {
  method: string;
  url: string;
  host: string;
  authorization?: string;
  cookie?: string;
  body: string;
}

/** A server on 127.0.0.1 that records every request and answers with `handler`. */
async function recorder(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      host: req.headers.host ?? '',
      body,
      ...(req.headers.authorization && { authorization: req.headers.authorization }),
      ...(req.headers.cookie && { cookie: req.headers.cookie }),
    });
    handler(req, res, body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))));
async function start(handler: Parameters<typeof recorder>[0]) {
  const r = await recorder(handler);
  servers.push(r.server);
  return r;
}

describe('the HTTP client', () => {
  it('sends JSON with a bearer token and reads JSON back', async () => {
    const api = await start((_req, res, body) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ echo: JSON.parse(body) })),
    );
    const response = await httpRequest(`http://127.0.0.1:${api.port}/v1/x`, { method: 'POST', json: { a: 1 }, bearer: 'tok' });
    expect(response.ok).toBe(true);
    expect(await response.json()).toEqual({ echo: { a: 1 } });
    expect(api.seen[0]).toMatchObject({ method: 'POST', authorization: 'Bearer tok' });
  });

  it('never carries credentials across a redirect to another origin (127.0.0.1 and localhost differ)', async () => {
    const hop = await start((req, res) => {
      const port = (req.socket.address() as AddressInfo).port;
      if (req.url === '/start') res.writeHead(302, { location: `http://localhost:${port}/elsewhere` }).end();
      else if (req.url === '/elsewhere') res.writeHead(307, { location: `http://127.0.0.1:${port}/back` }).end();
      else if (req.url === '/same') res.writeHead(301, { location: '/start' }).end();
      else res.writeHead(200).end('arrived');
    });
    const response = await httpRequest(`http://127.0.0.1:${hop.port}/same`, {
      headers: { Authorization: 'Basic c2VjcmV0', cookie: 'c=1' },
      redirects: 5,
    });
    expect(await response.text()).toBe('arrived');
    expect(response.url).toBe(`http://127.0.0.1:${hop.port}/back`);
    expect(hop.seen.map((s) => [s.url, s.host.split(':')[0], s.authorization ?? null, s.cookie ?? null])).toEqual([
      ['/same', '127.0.0.1', 'Basic c2VjcmV0', 'c=1'],
      ['/start', '127.0.0.1', 'Basic c2VjcmV0', 'c=1'],
      ['/elsewhere', 'localhost', null, null],
      // Once dropped, credentials stay dropped, even back on the first origin.
      ['/back', '127.0.0.1', null, null],
    ]);
  });

  it('follows no redirect unless asked, turns a 303 into a GET, and never replays a streamed body', async () => {
    const site = await start((req, res) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/result' }).end();
      else if (req.url === '/temporary') res.writeHead(307, { location: '/result' }).end();
      else res.writeHead(200).end(`${req.method} result`);
    });
    const base = `http://127.0.0.1:${site.port}`;
    expect((await httpRequest(`${base}/temporary`)).status).toBe(307);
    const posted = await httpRequest(`${base}/see-other`, { method: 'POST', body: 'data', redirects: 1 });
    expect(await posted.text()).toBe('GET result');
    const streamed = await httpRequest(`${base}/temporary`, { method: 'PUT', body: Readable.from([Buffer.from('once')]), redirects: 3 });
    expect(streamed.status).toBe(307);
  });

  it('bounds what it buffers and how long it waits', async () => {
    const slow = await start((req, res) => {
      if (req.url === '/big') res.writeHead(200).end(Buffer.alloc(64 * 1024));
      else if (req.url === '/trickle') {
        res.writeHead(200);
        res.write('a');
      }
      // /silent: never answers
    });
    const base = `http://127.0.0.1:${slow.port}`;
    const big = await httpRequest(`${base}/big`, { maxBodyBytes: 1024 }).catch((e: unknown) => e);
    expect(big).toBeInstanceOf(HttpClientError);
    expect((big as HttpClientError).reason).toBe('too-large');
    const started = Date.now();
    const silent = await httpRequest(`${base}/silent`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((silent as HttpClientError).reason).toBe('timeout');
    const trickle = await httpRequest(`${base}/trickle`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect((trickle as HttpClientError).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    // A stream's deadline ends with its headers; the idle timeout then guards the body.
    const stream = await httpStream(`${base}/trickle`, { timeoutMs: 300, idleTimeoutMs: 300 });
    const ended = await new Promise((resolve) =>
      stream.body
        .on('error', () => resolve('error'))
        .on('end', () => resolve('end'))
        .resume(),
    );
    expect(ended).toBe('error');
  });

  it('refuses URLs it must not speak to', async () => {
    for (const url of ['file:///etc/passwd', 'http://user:pw@127.0.0.1:1/']) {
      const error = await httpRequest(url).catch((e: unknown) => e);
      expect((error as HttpClientError).reason, url).toBe('protocol');
      expect((error as Error).message).not.toContain('pw@');
    }
  });
});

const tools = requireTools('openssl');
describe.skipIf(tools.skip)('the HTTP client over https', () => {
  let dir: string;
  let port: number;
  let ca: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bake-tls-'));
    const tls = await selfSignedCertificate(dir);
    ca = tls.cert;
    const server = createTlsServer({ key: tls.key, cert: ca }, (req, res) =>
      res.writeHead(200).end(`secure ${req.headers.authorization ?? ''}`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server as unknown as Server);
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('speaks https to an https URL, trusting the CA it is given and nothing else', async () => {
    const response = await httpRequest(`https://127.0.0.1:${port}/`, { ca, bearer: 't' });
    expect(await response.text()).toBe('secure Bearer t');
    const untrusted = await httpRequest(`https://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect((untrusted as HttpClientError).reason).toBe('network');
  });
});
