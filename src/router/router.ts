import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { httpGet } from '../util/http-get.js';
import { candidates, pick, type Instance, type Routes } from './route-table.js';

/**
 * A version-aware HTTP router on 127.0.0.1, one listener per service. It knows every live
 * instance and the release and version vector it runs, balances over the healthy ones, tags each
 * response with what served it, honours a client's pin to a release, routes shares and cohorts to
 * canaries, keeps A/B users on one side, and drains instances before they are removed. A request
 * whose upstream refuses the connection (the instance just died) is retried on another instance,
 * so route changes lose no request.
 */
export interface Router {
  listeners: Record<string, number>;
  state(): { instances: Instance[]; routes: Routes; toggles: Record<string, boolean> };
  add(instance: Omit<Instance, 'inflight' | 'healthy' | 'draining'>): void;
  /** Stops new requests to an instance and resolves once it has none in flight. */
  drain(id: string, timeoutMs?: number): Promise<void>;
  remove(id: string): void;
  setRoutes(routes: Routes): void;
  setToggle(name: string, on: boolean): void;
  close(): Promise<void>;
}

const MAX_ATTEMPTS = 4;
const MAX_BUFFERED_BODY = 1 << 20;

export async function startRouter(services: Record<string, number>, options: { healthIntervalMs?: number } = {}): Promise<Router> {
  const instances = new Map<string, Instance>();
  let routes: Routes = {};
  const toggles: Record<string, boolean> = {};
  let turn = 0;
  const servers: Server[] = [];
  const listeners: Record<string, number> = {};

  const features = () =>
    Object.entries(toggles)
      .filter(([, on]) => on)
      .map(([name]) => name)
      .sort()
      .join(',');

  async function handle(service: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BUFFERED_BODY) {
        res.writeHead(413).end('request body too large for the bake router\n');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const pin = Number(req.headers['x-bake-release']);
    const facts = {
      ...(Number.isInteger(pin) && pin > 0 && { pinRelease: pin }),
      ...(typeof req.headers['x-bake-cohort'] === 'string' && { cohort: req.headers['x-bake-cohort'] }),
      key: String(req.headers['x-bake-key'] ?? req.socket.remoteAddress ?? ''),
      random: Math.random(),
    };
    const tried = new Set<string>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const pool = candidates([...instances.values()], routes, facts, service).filter((i) => !tried.has(i.id));
      const instance = pick(pool, turn++);
      if (!instance) break;
      tried.add(instance.id);
      const outcome = await forward(instance, service, req, body, res);
      if (outcome === 'done') return;
      // The instance refused the connection before seeing the request: it is gone; try another.
      instance.healthy = false;
    }
    if (!res.headersSent) res.writeHead(503, { 'x-bake-router': 'no healthy instance' }).end(`no healthy instance of ${service}\n`);
  }

  function forward(instance: Instance, service: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<'done' | 'retry'> {
    return new Promise((resolve) => {
      instance.inflight++;
      let settled = false;
      const finish = (outcome: 'done' | 'retry') => {
        if (settled) return;
        settled = true;
        instance.inflight--;
        resolve(outcome);
      };
      const headers = { ...req.headers, 'x-bake-features': features(), 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = httpRequest(
        { host: '127.0.0.1', port: instance.ports[service], method: req.method, path: req.url, headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, {
            ...up.headers,
            'x-bake-release': String(instance.release),
            'x-bake-vector': JSON.stringify(instance.vector),
            'x-bake-instance': instance.id,
            'x-bake-features': features(),
          });
          up.pipe(res);
          up.on('end', () => finish('done'));
          up.on('error', () => {
            res.destroy();
            finish('done');
          });
        },
      );
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (!res.headersSent && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(error.code ?? '')) return finish('retry');
        if (!res.headersSent) res.writeHead(502).end(`upstream ${instance.id} failed: ${error.message}\n`);
        finish('done');
      });
      upstream.end(body);
    });
  }

  for (const [service, port] of Object.entries(services)) {
    const server = createServer((req, res) => {
      handle(service, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    listeners[service] = typeof address === 'object' && address ? address.port : port;
    servers.push(server);
  }

  // Health: every instance, every service with a health path, on an interval.
  const timer = setInterval(() => {
    for (const instance of instances.values()) {
      void checkHealth(instance).then((healthy) => {
        if (instances.has(instance.id)) instance.healthy = healthy;
      });
    }
  }, options.healthIntervalMs ?? 500);
  timer.unref();

  return {
    listeners,
    state: () => ({ instances: [...instances.values()].map((i) => ({ ...i })), routes, toggles: { ...toggles } }),
    add(instance) {
      instances.set(instance.id, { ...instance, healthy: true, draining: false, inflight: 0 });
    },
    async drain(id, timeoutMs = 30_000) {
      const instance = instances.get(id);
      if (!instance) return;
      instance.draining = true;
      const deadline = Date.now() + timeoutMs;
      while (instance.inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
    remove(id) {
      instances.delete(id);
    },
    setRoutes(next) {
      routes = next;
    },
    setToggle(name, on) {
      toggles[name] = on;
    },
    async close() {
      clearInterval(timer);
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

async function checkHealth(instance: Instance): Promise<boolean> {
  for (const [service, path] of Object.entries(instance.health)) {
    const port = instance.ports[service];
    if (port === undefined) continue;
    const { status } = await httpGet(port, path);
    if (status === 0 || status >= 400) return false;
  }
  return true;
}
