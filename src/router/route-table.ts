/**
 * The router's decisions, as pure functions over plain data: which instances may serve a request
 * and which one does. Kept free of sockets so every rule is a table test.
 */

/** A live instance as the router knows it. */
export interface Instance {
  id: string;
  release: number;
  vector: Record<string, number>;
  /** Service → port on `host`. */
  ports: Record<string, number>;
  /** Where the ports answer (default 127.0.0.1): a swarm task's node address. */
  host?: string;
  /** Service → health path (checked by the router). */
  health: Record<string, string>;
  healthy: boolean;
  /** Draining instances take no new requests and are removed once idle. */
  draining: boolean;
  inflight: number;
}

/** How traffic is split. No weights: every healthy instance shares it (rolling upgrades). */
export interface Routes {
  /** Release id → weight. Only releases listed receive unpinned traffic. */
  weights?: Record<string, number>;
  /** Requests naming one of these cohorts go to this release. */
  cohort?: { release: number; names: string[] };
  /** Choose by a hash of the request's key instead of at random: A/B stays put per user. */
  sticky?: boolean;
  /** Blue/green preview: the release the preview listeners serve before the switch. */
  preview?: number;
}

/** What the router reads from a request. */
export interface RequestFacts {
  /** `x-bake-release`: a client that was served by release N asks to stay on it. */
  pinRelease?: number;
  /** `x-bake-cohort` */
  cohort?: string;
  /** `x-bake-key`: the sticky key for A/B. Clients without one are split at random, by share. */
  key?: string;
  /** A number in [0, 1) for weighted choice when not sticky. */
  random: number;
}

/** Instances that may serve a request for `service`, after pins, cohorts and weights. */
export function candidates(instances: readonly Instance[], routes: Routes, request: RequestFacts, service: string): Instance[] {
  const up = instances.filter((i) => i.healthy && !i.draining && i.ports[service] !== undefined);
  const ofRelease = (release: number) => up.filter((i) => i.release === release);
  if (request.pinRelease !== undefined && ofRelease(request.pinRelease).length > 0) return ofRelease(request.pinRelease);
  if (
    routes.cohort &&
    request.cohort !== undefined &&
    routes.cohort.names.includes(request.cohort) &&
    ofRelease(routes.cohort.release).length > 0
  ) {
    return ofRelease(routes.cohort.release);
  }
  if (routes.weights) {
    const weighted = Object.entries(routes.weights)
      .map(([release, weight]) => ({ pool: ofRelease(Number(release)), weight }))
      .filter((w) => w.pool.length > 0 && w.weight > 0);
    const total = weighted.reduce((sum, w) => sum + w.weight, 0);
    if (total > 0) {
      let point = (routes.sticky && request.key !== undefined ? hashUnit(request.key) : request.random) * total;
      for (const w of weighted) {
        if (point < w.weight) return w.pool;
        point -= w.weight;
      }
      return weighted.at(-1)?.pool ?? [];
    }
  }
  return up;
}

/** The least-loaded candidate; ties broken by `turn` so equal instances take turns. */
export function pick(pool: readonly Instance[], turn: number): Instance | undefined {
  if (pool.length === 0) return undefined;
  const least = Math.min(...pool.map((i) => i.inflight));
  const idle = pool.filter((i) => i.inflight === least);
  return idle[turn % idle.length];
}

/** A stable number in [0, 1) for a key (FNV-1a). */
export function hashUnit(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x100000000;
}
