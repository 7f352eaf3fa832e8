import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { httpGet } from '../util/http-get.js';
import { releaseStats, type ReleaseFigures } from './release-stats.js';
import { candidates, pick, type Instance, type RequestFacts, type Routes } from './route-table.js';
import { featuresFor, type ToggleRule } from './toggle-requirements.js';

/**
 * A version-aware HTTP router on 127.0.0.1, one listener per service (and one preview listener
 * per service, serving only the release `routes.preview` names). It knows every live instance and
 * the release and version vector it runs, balances over the healthy ones, tags each response with
 * what served it, honours a client's pin to a release, routes shares and cohorts to canaries,
 * keeps A/B users on one side, drains instances before they are removed, and counts requests,
 * errors and latency per release. A request whose upstream refuses or resets the connection before
 * answering (the instance just died), or cannot be reached within CONNECT_TIMEOUT_MS (its node is
 * gone), is retried on another instance, so route changes and a lost node lose no request.
 */
export interface Router {
  listeners: Record<string, number>;
  /** Service → port of its preview listener. */
  previewListeners: Record<string, number>;
  state(): RouterSnapshot;
  add(instance: Omit<Instance, 'inflight' | 'healthy' | 'draining'>): void;
  /** Changes what an instance runs (an in-place upgrade) or takes it out of / back into rotation. */
  update(id: string, patch: Partial<Pick<Instance, 'release' | 'vector' | 'draining'>>): boolean;
  /** Stops new requests to an instance and resolves once it has none in flight. */
  drain(id: string, timeoutMs?: number): Promise<void>;
  remove(id: string): void;
  setRoutes(routes: Routes): void;
  setToggle(name: string, on: boolean, rule?: ToggleRule): void;
  /** Traffic figures per release since the last reset. */
  stats(): Record<string, ReleaseFigures>;
  resetStats(): void;
  close(): Promise<void>;
}

export interface RouterSnapshot {
  instances: Instance[];
  routes: Routes;
  toggles: Record<string, boolean>;
  /** Requirements and conflict policy of the toggles that have them. */
  toggleRules: Record<string, ToggleRule>;
}

const MAX_ATTEMPTS = 4;
/** A connection not established by then goes to another instance: its node may be gone (no RST comes back). */
const CONNECT_TIMEOUT_MS = 1500;
/** Failures before the upstream saw the request (refused, reset, a node that is unreachable): safe to retry. */
const RETRYABLE = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNTIMEOUT'];
const MAX_BUFFERED_BODY = 1 << 20;

export async function startRouter(
  services: Record<string, number>,
  options: { healthIntervalMs?: number; counting?: boolean; bind?: string } = {},
): Promise<Router> {
  const instances = new Map<string, Instance>();
  let routes: Routes = {};
  const toggles: Record<string, boolean> = {};
  const rules: Record<string, ToggleRule> = {};
  const stats = releaseStats({ ...(options.counting !== undefined && { counting: options.counting }) });
  let turn = 0;
  const servers: Server[] = [];
  const listeners: Record<string, number> = {};
  const previewListeners: Record<string, number> = {};

  const features = (instance: Instance) => featuresFor(instance.vector, toggles, rules).join(',');

  async function handle(service: string, preview: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    const key = req.headers['x-bake-key'];
    const facts: RequestFacts = {
      ...(Number.isInteger(pin) && pin > 0 && { pinRelease: pin }),
      ...(typeof req.headers['x-bake-cohort'] === 'string' && { cohort: req.headers['x-bake-cohort'] }),
      ...(typeof key === 'string' && { key }),
      random: Math.random(),
    };
    const tried = new Set<string>();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const all = [...instances.values()];
      const pool = (
        preview ? all.filter((i) => i.release === routes.preview && i.healthy && !i.draining) : candidates(all, routes, facts, service)
      ).filter((i) => !tried.has(i.id) && i.ports[service] !== undefined);
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

  function forward(
    instance: Instance,
    service: string,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<'done' | 'retry'> {
    return new Promise((resolve) => {
      instance.inflight++;
      const started = performance.now();
      const release = instance.release;
      let settled = false;
      const finish = (outcome: 'done' | 'retry', error: boolean) => {
        if (settled) return;
        settled = true;
        instance.inflight--;
        stats.record(release, performance.now() - started, error);
        resolve(outcome);
      };
      const sent = features(instance);
      const headers = { ...req.headers, 'x-bake-features': sent, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = httpRequest(
        // Lenient parsing: busybox httpd's CGI answers end header lines with LF only, as curl accepts.
        {
          host: instance.host ?? '127.0.0.1',
          port: instance.ports[service],
          method: req.method,
          path: req.url,
          headers,
          insecureHTTPParser: true,
        },
        (up) => {
          const status = up.statusCode ?? 502;
          res.writeHead(status, {
            ...up.headers,
            'x-bake-release': String(instance.release),
            'x-bake-vector': JSON.stringify(instance.vector),
            'x-bake-instance': instance.id,
            'x-bake-features': sent,
          });
          up.pipe(res);
          up.on('end', () => finish('done', status >= 500));
          up.on('error', () => {
            res.destroy();
            finish('done', true);
          });
        },
      );
      upstream.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(() => {
          socket.destroy(Object.assign(new Error(`no connection to ${instance.id} in ${CONNECT_TIMEOUT_MS} ms`), { code: 'ECONNTIMEOUT' }));
        }, CONNECT_TIMEOUT_MS);
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (!res.headersSent && RETRYABLE.includes(error.code ?? '')) return finish('retry', true);
        if (!res.headersSent) res.writeHead(502).end(`upstream ${instance.id} failed: ${error.message}\n`);
        finish('done', true);
      });
      upstream.end(body);
    });
  }

  async function listen(service: string, port: number, preview: boolean): Promise<number> {
    const server = createServer((req, res) => {
      handle(service, preview, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // 127.0.0.1 on a host; a replica inside the cluster listens on its container's addresses (bind 0.0.0.0).
      server.listen(port, options.bind ?? '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }
  for (const [service, port] of Object.entries(services)) {
    listeners[service] = await listen(service, port, false);
    previewListeners[service] = await listen(service, 0, true);
  }

  // Health: every instance, every service with a health path, on an interval.
  const timer = setInterval(() => {
    for (const instance of instances.values()) {
      void checkHealth(instance).then((healthy) => {
        if (instances.get(instance.id) === instance) instance.healthy = healthy;
      });
    }
  }, options.healthIntervalMs ?? 500);
  timer.unref();

  return {
    listeners,
    previewListeners,
    state: () => ({
      instances: [...instances.values()].map((i) => ({ ...i })),
      routes,
      toggles: { ...toggles },
      toggleRules: structuredClone(rules),
    }),
    add(instance) {
      instances.set(instance.id, { ...instance, healthy: true, draining: false, inflight: 0 });
    },
    update(id, patch) {
      const instance = instances.get(id);
      if (!instance) return false;
      // The same object stays registered: requests in flight still count against it.
      if (patch.release !== undefined) instance.release = patch.release;
      if (patch.vector !== undefined) instance.vector = { ...patch.vector };
      if (patch.draining !== undefined) instance.draining = patch.draining;
      return true;
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
    setToggle(name, on, rule) {
      toggles[name] = on;
      if (rule) rules[name] = structuredClone(rule);
      else delete rules[name];
    },
    stats: () => stats.figures(),
    resetStats: () => stats.reset(),
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
    const { status } = await httpGet(port, path, 2000, instance.host);
    if (status === 0 || status >= 400) return false;
  }
  return true;
}
