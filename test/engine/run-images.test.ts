import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type ContainerInfo, type Engine } from '../../src/engine/docker-engine.js';
import type { DeployTarget } from '../../src/deploy/deploy-plan.js';
import { startInstance } from '../../src/deploy/instance.js';
import { upgradeInPlace } from '../../src/deploy/upgrade-in-place.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { storeBlobs } from '../helpers/store-blobs.js';

// Images are content-addressed and test files run in parallel on one engine: a clock of this
// file's own keeps its images distinct from every other file's, so no test removes another's.
process.env['SOURCE_DATE_EPOCH'] = '1700000101';
const tools = requireTools('git', 'busybox', 'docker', 'docker-registry');
const services = [
  { name: 'catalog', port: 8081, health: '/healthz' },
  { name: 'cart', port: 8082, health: '/healthz' },
  { name: 'web', port: 8080, health: '/healthz' },
];
const publish = { 8080: 0, 8081: 0, 8082: 0 };

async function version(info: ContainerInfo, port: number): Promise<string> {
  return (await (await fetch(`http://127.0.0.1:${info.ports[port]}/version`)).text()).trim();
}

describe.skipIf(tools.skip)('images in a real Docker engine and registry', () => {
  let engine: Engine;
  let repo: Repo;
  const containers: string[] = [];
  const images = new Set<string>();

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    await writeFile(
      join(repo.dir, 'recipes', 'shop-light.yaml'),
      'image: shop-light\nbake: light\nbase: {rootfs: base/busybox}\nservices: [catalog, cart, web]\n',
    );
    await repo.commitAll('light recipe');
    expect((await bake(['-C', repo.dir, 'commit', '--all'])).exitCode).toBe(0);
  });
  afterAll(async () => {
    for (const id of containers) await engine?.removeContainer(id);
    for (const image of images) await engine?.removeImage(image);
    await repo?.cleanup();
  });

  async function buildAndLoad(image: string) {
    const run = await bake(['-C', repo.dir, '--json', 'build', '--commit', image, '--load']);
    expect(run.exitCode, run.stderr).toBe(0);
    const build = run.json.builds[0];
    images.add(build.load.imageId);
    images.add(build.load.tag);
    return build;
  }

  function target(
    build: { image: string; build: number; digest: string; vector: Record<string, number>; load: { imageId: string } },
    level: 'heavy' | 'light',
    serviceLayers: Record<string, string> = {},
  ): DeployTarget {
    return {
      scope: 'run-images-test',
      env: 'test',
      image: build.image,
      release: build.build,
      digest: build.digest,
      imageId: build.load.imageId,
      level,
      vector: build.vector,
      serviceLayers,
      services,
      publish,
    };
  }

  it('loads a heavy image whose engine image ID is its config digest, once', async () => {
    const build = await buildAndLoad('shop');
    expect(build.load.imageId).toBe(build.config);
    expect(build.load.loaded).toBe(true);
    const again = await bake(['-C', repo.dir, '--json', 'build', 'shop', '--load']);
    expect(again.json.builds[0].load.loaded).toBe(false);
  });

  it('runs the heavy image: every service answers /healthz and /version on 127.0.0.1', async () => {
    const build = await buildAndLoad('shop');
    const info = await startInstance(engine, target(build, 'heavy'), storeBlobs(repo.dir));
    containers.push(info.id);
    expect(await version(info, 8081)).toBe('catalog 1');
    expect(await version(info, 8082)).toBe('cart 1');
    expect(await version(info, 8080)).toBe('web 1');
    await engine.removeContainer(info.id);
  });

  it('runs a light image with the pinned versions installed from the inside, upgrades one in place, and undoes it', async () => {
    const first = await buildAndLoad('shop-light');
    const status = (await bake(['-C', repo.dir, '--json', 'status'])).json;
    expect(status.images['shop-light'][0].vector).toEqual({ catalog: 1, cart: 1, web: 1 });
    const manifest: any = await manifestOf(repo.dir);
    const layersOf = (id: number) => manifest.builds['shop-light'].find((b: { id: number }) => b.id === id).serviceLayers;
    const from = target(first, 'light', layersOf(first.build));
    const info = await startInstance(engine, from, storeBlobs(repo.dir));
    containers.push(info.id);
    expect(await version(info, 8081)).toBe('catalog 1');
    expect(await version(info, 8080)).toBe('web 1');

    await appendFile(join(repo.dir, 'services', 'catalog', 'products.json'), '\n');
    await repo.commitAll('catalog v2', '2026-01-05T00:00:00Z');
    const second = await buildAndLoad('shop-light');
    expect(second.digest).toBe(first.digest); // the same light image serves both vectors
    expect(second.vector).toEqual({ catalog: 2, cart: 1, web: 1 });
    const after: any = await manifestOf(repo.dir);
    const to = target(second, 'light', after.builds['shop-light'].find((b: { id: number }) => b.id === second.build).serviceLayers);

    const upgrade = await upgradeInPlace(engine, info, from, to, storeBlobs(repo.dir));
    expect(upgrade.changed.map((p) => p.service)).toEqual(['catalog']);
    expect(await version(info, 8081)).toBe('catalog 2');
    expect(await version(info, 8082)).toBe('cart 1');
    await upgrade.undo();
    expect(await version(info, 8081)).toBe('catalog 1');
    await engine.removeContainer(info.id);
  });

  it('pushes to a registry by digest, and that digest pulled into the engine runs', async () => {
    const registry = await startRegistry();
    try {
      const build = (await bake(['-C', repo.dir, '--json', 'build', 'shop'])).json.builds[0];
      const push = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`]);
      expect(push.exitCode, push.stderr).toBe(0);
      expect(push.json.reference).toBe(`${registry.address}/shop@${build.digest}`);
      expect(push.json.uploaded).toBeGreaterThan(0);
      const again = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`]);
      expect(again.json.uploaded).toBe(0);

      await engine.pullImage(push.json.reference);
      const pulled = await engine.imageId(push.json.reference);
      expect(pulled).toBe(build.config);
      images.add(push.json.reference);
      const info = await startInstance(
        engine,
        { ...target({ ...build, load: { imageId: push.json.reference } }, 'heavy') },
        storeBlobs(repo.dir),
      );
      containers.push(info.id);
      expect(await version(info, 8080)).toBe('web 1');
      await engine.removeContainer(info.id);
    } finally {
      await registry.stop();
    }
  });

  it('names the socket when no engine answers', async () => {
    const run = await bake(['-C', repo.dir, 'build', 'shop', '--load'], { env: { DOCKER_HOST: 'unix:///tmp/no-such-docker.sock' } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('no Docker engine answers at unix:///tmp/no-such-docker.sock');
  });
});
