import type { Instance } from './route-table.js';
import { routerClient, type RouterClient, type RouterState } from './router-client.js';
import type { ReleaseFigures } from './release-stats.js';

/** One replica of a router: where its control API and its listeners answer. */
export interface RouterReplica {
  /** The node it runs on (reports name it). */
  node: string;
  /** The node's address: the replica's ports are published there (host mode). */
  address: string;
  control: number;
  /** Service → the listener's port as published on the node. */
  listeners: Record<string, number>;
}

/** How an instance as bake sees it from its host becomes the instance a replica reaches (its overlay address). */
export type InstanceAddress = (instance: Parameters<RouterClient['add']>[0]) => Promise<Parameters<RouterClient['add']>[0]>;

/**
 * One RouterClient over several router replicas: every change (instances, drains, routes, toggles,
 * in-place updates) goes to each replica, and a call resolves once all have it, so a route change
 * is in force everywhere before the next step; a drain resolves once every replica is idle on the
 * instance. `state` is the first replica's (all hold the same); `stats` sums requests and errors
 * over the replicas (p50/p99: the worst replica's, a bound, not a percentile of the union).
 * `address` turns each added instance into what the replicas reach. Methods throw BakeError.
 */
export function routerFleet(replicas: readonly RouterReplica[], address: InstanceAddress): RouterClient {
  const clients = replicas.map((r) => routerClient(r.control, r.address));
  const each = async <T>(call: (c: RouterClient) => Promise<T>): Promise<T[]> => Promise.all(clients.map(call));
  const first = clients[0];
  if (!first) throw new Error('a router fleet needs at least one replica');
  return {
    state: () => first.state(),
    add: async (instance) => {
      const reached = await address(instance);
      await each((c) => c.add(reached));
    },
    drain: async (id) => void (await each((c) => c.drain(id))),
    remove: async (id) => void (await each((c) => c.remove(id))),
    setRoutes: async (routes) => void (await each((c) => c.setRoutes(routes))),
    setToggle: async (name, on, rule) => void (await each((c) => c.setToggle(name, on, rule))),
    update: async (id, patch) => void (await each((c) => c.update(id, patch))),
    stats: async () => sumFigures(await each((c) => c.stats())),
    resetStats: async () => void (await each((c) => c.resetStats())),
  };
}

/** Release → figures summed over replicas. */
export function sumFigures(all: readonly Record<string, ReleaseFigures>[]): Record<string, ReleaseFigures> {
  const out: Record<string, ReleaseFigures> = {};
  for (const figures of all) {
    for (const [release, f] of Object.entries(figures)) {
      const sum = out[release] ?? { requests: 0, errors: 0, errorRate: 0, p50: null, p99: null };
      const worst = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
      const requests = sum.requests + f.requests;
      const errors = sum.errors + f.errors;
      out[release] = {
        requests,
        errors,
        errorRate: requests === 0 ? 0 : errors / requests,
        p50: worst(sum.p50, f.p50),
        p99: worst(sum.p99, f.p99),
      };
    }
  }
  return out;
}

/**
 * Brings every replica to the state of the one that knows most instances (a replica the engine
 * restarted starts empty): its instances, routes and toggles. Run before bake changes anything.
 */
export async function alignReplicas(replicas: readonly RouterReplica[]): Promise<void> {
  const clients = replicas.map((r) => routerClient(r.control, r.address));
  const states: RouterState[] = await Promise.all(clients.map((c) => c.state()));
  const richest = states.reduce((best, s) => (s.instances.length > best.instances.length ? s : best));
  await Promise.all(
    clients.map(async (client, i) => {
      const state = states[i] as RouterState;
      if (state === richest) return;
      const known = new Set(state.instances.map((x) => x.id));
      for (const instance of richest.instances.filter((x) => !known.has(x.id))) await client.add(routed(instance));
      await client.setRoutes(richest.routes);
      for (const [name, on] of Object.entries(richest.toggles)) await client.setToggle(name, on, richest.toggleRules?.[name]);
    }),
  );
}

function routed(instance: Instance): Parameters<RouterClient['add']>[0] {
  const { inflight: _inflight, healthy: _healthy, draining: _draining, ...rest } = instance;
  return rest;
}
