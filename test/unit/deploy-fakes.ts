import type { ContainerInfo, ContainerSpec } from '../../src/engine/docker-engine.js';
import type { DeployTarget } from '../../src/deploy/deploy-plan.js';
import type { DeployEngine } from '../../src/deploy/instance.js';
import type { DeployContext, DeployRouter } from '../../src/deploy/operations.js';
import type { Instance, Routes } from '../../src/router/route-table.js';
import { sha256Digest } from '../../src/util/digest.js';
import { imageIdOfConfig } from '../../src/util/image-id.js';

/**
 * In-memory stand-ins for the two interfaces the deploy steps take, for pure-logic tests of the
 * strategies (the real engine and router are tested in test/deploy/). Both record what was done to
 * them in one shared `effects` list, in order: `start r2`, `retire r1` (removed at the router),
 * `routes {...}`.
 */
export interface Fakes {
  engine: DeployEngine & {
    containers: Map<string, ContainerInfo>;
    /** Instances of `release` fail to start once `after` of them have started. */
    failStart(release: number, after?: number): void;
    /** Removing this container fails. */
    failRemove(id: string): void;
  };
  router: DeployRouter & {
    instances: Map<string, Instance>;
    routes: Routes;
    /** Instances of `release` registered from now on are reported unhealthy. */
    sicken(release: number): void;
    /** Setting exactly these routes fails, once. */
    failRoutes(routes: Routes): void;
  };
  effects: string[];
}

export function fakes(): Fakes {
  const effects: string[] = [];
  const containers = new Map<string, ContainerInfo>();
  const failingStarts = new Map<number, number>();
  const failingRemoves = new Set<string>();
  const failingRoutes = new Set<string>();
  const sick = new Set<number>();
  let next = 100;
  const releaseOf = (id: string) => Number(containers.get(id)?.labels['dev.bake.release'] ?? -1);
  const engine: Fakes['engine'] = {
    containers,
    failStart: (release, after = 0) => void failingStarts.set(release, after),
    failRemove: (id) => void failingRemoves.add(id),
    async createContainer(spec: ContainerSpec) {
      const id = `c${next++}`;
      containers.set(id, { id, name: spec.name, running: false, ports: {}, labels: spec.labels, image: spec.image });
      return id;
    },
    async startContainer(id) {
      const release = releaseOf(id);
      const left = failingStarts.get(release);
      if (left === 0) throw new Error(`release ${release} does not start`);
      if (left !== undefined) failingStarts.set(release, left - 1);
      const info = containers.get(id);
      if (info) info.running = true;
      effects.push(`start r${release}`);
    },
    inspectContainer: async (id) => containers.get(id),
    async removeContainer(id) {
      if (failingRemoves.has(id)) throw new Error(`container ${id} cannot be removed`);
      containers.delete(id);
    },
    logs: async () => '',
    putArchive: async () => undefined,
  };
  const router: Fakes['router'] = {
    instances: new Map(),
    routes: {},
    sicken: (release) => void sick.add(release),
    failRoutes: (routes) => void failingRoutes.add(JSON.stringify(routes)),
    state: async () => ({
      instances: [...router.instances.values()].map((i) => ({ ...i })),
      routes: router.routes,
      toggles: {},
      listeners: {},
    }),
    async add(instance) {
      router.instances.set(instance.id, { ...instance, healthy: !sick.has(instance.release), draining: false, inflight: 0 });
    },
    async drain(id) {
      const instance = router.instances.get(id);
      if (instance) instance.draining = true;
    },
    async remove(id) {
      const instance = router.instances.get(id);
      router.instances.delete(id);
      if (instance) effects.push(`retire r${instance.release}`);
    },
    async update(id, patch) {
      const instance = router.instances.get(id);
      if (!instance) throw new Error(`no instance ${id}`);
      Object.assign(instance, patch);
      effects.push(`update ${id} ${JSON.stringify(patch)}`);
    },
    async setRoutes(routes) {
      if (failingRoutes.delete(JSON.stringify(routes))) throw new Error(`the router refuses routes ${JSON.stringify(routes)}`);
      router.routes = routes;
      effects.push(`routes ${JSON.stringify(routes)}`);
    },
  };
  return { engine, router, effects };
}

/** A heavy release of the shop with one service and no health path (nothing to poll). */
export function target(release: number): DeployTarget {
  return {
    scope: 'unit',
    env: 'dev',
    image: 'shop',
    release,
    digest: sha256Digest(`manifest ${release}`),
    imageId: imageIdOfConfig(sha256Digest(`config ${release}`)),
    level: 'heavy',
    vector: { catalog: release },
    serviceLayers: {},
    services: [{ name: 'catalog', port: 8081 }],
    publish: { 8081: 0 },
  };
}

/** Puts `count` running instances of `release` in the fake engine and router, as a past deploy would have. */
export function seed(f: Fakes, release: number, count: number): Instance[] {
  const seeded: Instance[] = [];
  for (let i = 0; i < count; i++) {
    const id = `r${release}i${i}`;
    f.engine.containers.set(id, { id, name: id, running: true, ports: {}, labels: { 'dev.bake.release': String(release) }, image: 'old' });
    const instance: Instance = {
      id,
      release,
      vector: { catalog: release },
      ports: {},
      health: {},
      healthy: true,
      draining: false,
      inflight: 0,
    };
    f.router.instances.set(id, instance);
    seeded.push({ ...instance });
  }
  return seeded;
}

/** The deploy context over the fakes: deploying `release` over `previous`. */
export function context(
  f: Fakes,
  release: number,
  options: { previous?: number; replicas?: number } = {},
): DeployContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    engine: f.engine,
    router: f.router,
    blobs: {
      open: () => {
        throw new Error('no blobs in a heavy deploy');
      },
      size: async () => 0,
    },
    target: target(release),
    ...(options.previous !== undefined && { previous: target(options.previous) }),
    replicas: options.replicas ?? 2,
    lines,
    log: (line) => void lines.push(line),
  };
}

/** Releases the fake router's instances run, sorted. */
export function running(f: Fakes): number[] {
  return [...f.router.instances.values()].map((i) => i.release).sort();
}
