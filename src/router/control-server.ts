import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Router } from './router.js';

/**
 * The router's control API on 127.0.0.1, used by deploy steps in other processes:
 *   GET  /state                      instances, routes, toggles (and their rules), listeners, preview listeners
 *   POST /instances                  register an instance (JSON body)
 *   PATCH /instances/<id>            {"release"?, "vector"?, "draining"?}: an in-place upgrade, or rotation
 *   POST /instances/<id>/drain       stop sending it requests; answers once it is idle
 *   DELETE /instances/<id>           forget it
 *   PUT  /routes                     replace the routes (JSON body)
 *   PUT  /toggles/<name>             {"on": true|false, "rule"?: {requires, conflict}}, for every instance at once
 *   GET  /stats                      requests, errors, p50/p99 per release since the last reset
 *   POST /stats/reset                start a new window
 */
export async function startControlServer(router: Router, port = 0, bind = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const socket = req.socket;
    handle(router, req)
      .then((body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {})))
      .catch((error: Error & { status?: number }) => {
        // The rest of an oversized body is never read: answer, then close the connection.
        if (error.status === 413) res.once('finish', () => socket.destroy());
        res
          .writeHead(error.status ?? 400, { 'content-type': 'application/json', ...(error.status === 413 && { connection: 'close' }) })
          .end(JSON.stringify({ error: error.message }));
      });
  });
  await new Promise<void>((resolve) => server.listen(port, bind, resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : port, close: () => new Promise((r) => server.close(() => r())) };
}

async function handle(router: Router, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const body = req.method === 'GET' || req.method === 'DELETE' ? undefined : await readJson(req);
  if (req.method === 'GET' && parts[0] === 'state') {
    return { ...router.state(), listeners: router.listeners, previewListeners: router.previewListeners };
  }
  if (req.method === 'GET' && parts[0] === 'stats') return router.stats();
  if (req.method === 'POST' && parts[0] === 'stats' && parts[1] === 'reset') {
    router.resetStats();
    return { reset: true };
  }
  if (req.method === 'PATCH' && parts[0] === 'instances' && parts[1] && parts.length === 2) {
    const patch = body as Parameters<Router['update']>[1];
    if (!router.update(parts[1], patch)) throw Object.assign(new Error(`no instance ${parts[1]}`), { status: 404 });
    return { updated: true };
  }
  if (req.method === 'POST' && parts[0] === 'instances' && parts.length === 1) {
    router.add(body as Parameters<Router['add']>[0]);
    return { added: true };
  }
  if (req.method === 'POST' && parts[0] === 'instances' && parts[2] === 'drain' && parts[1]) {
    await router.drain(parts[1]);
    return { drained: true };
  }
  if (req.method === 'DELETE' && parts[0] === 'instances' && parts[1]) {
    router.remove(parts[1]);
    return { removed: true };
  }
  if (req.method === 'PUT' && parts[0] === 'routes') {
    router.setRoutes(body as Parameters<Router['setRoutes']>[0]);
    return { routes: body };
  }
  if (req.method === 'PUT' && parts[0] === 'toggles' && parts[1]) {
    const { on, rule } = body as { on?: unknown; rule?: Parameters<Router['setToggle']>[2] };
    router.setToggle(parts[1], on === true, rule);
    return { toggles: router.state().toggles };
  }
  throw Object.assign(new Error(`no such control request: ${req.method} ${url.pathname}`), { status: 404 });
}

/** Control requests are small JSON documents; anything bigger is refused, never buffered whole. */
const MAX_CONTROL_BODY = 1 << 20;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_CONTROL_BODY) {
      throw Object.assign(new Error(`control request body over ${MAX_CONTROL_BODY} bytes`), { status: 413 });
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : (JSON.parse(text) as unknown);
}
