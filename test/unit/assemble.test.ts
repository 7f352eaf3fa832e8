import { extract } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaseImage } from '../../src/base/base-image.js';
import { assembleHeavy, assembleLight, type AssembledImage } from '../../src/image/assemble.js';
import { planBuild } from '../../src/image/plan.js';
import { writeLayer } from '../../src/layer/layer.js';
import { openLayoutStore, type LayoutStore } from '../../src/oci/layout-store.js';
import { StoreError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/repo.js';
import { commitTree, dir, file, manifestOf, recipe, service, T0, validateImage, workspace } from './image-fixtures.js';

// assemble runs on a real layout store in a temp directory, from in-memory trees: no git, no Docker.

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function store(): Promise<LayoutStore> {
  const temp = await tempDir('assemble');
  cleanups.push(temp.cleanup);
  return openLayoutStore(temp.dir);
}

const SCRATCH: BaseImage = { layers: [], config: {}, history: [], description: 'scratch' };
const CATALOG = service('catalog', { run: './run.sh', port: 8081, env: { MODE: 'fast' } });
const WEB = service('web', { run: 'httpd -f -p $PORT', port: 8080 });
const WS = workspace([CATALOG, WEB]);

/** Two services, two versions of catalog, all in `s`. */
async function history(s: LayoutStore) {
  const catalog1 = await commitTree(s, CATALOG, 1, [file('run.sh', '#!/bin/sh\necho v1\n', 0o755)]);
  const catalog2 = await commitTree(
    s,
    CATALOG,
    2,
    [file('run.sh', '#!/bin/sh\necho v2\n', 0o755), dir('data'), file('data/items.json', '[]\n')],
    T0 + 60,
  );
  const web1 = await commitTree(s, WEB, 1, [file('index.html', '<h1>shop</h1>\n')]);
  return manifestOf({ catalog: [catalog1, catalog2], web: [web1] });
}

/** The members of the image's last layer (bake's own), by name: file text, or `<directory>`. Read with tar-stream, not bake's reader. */
async function bakeLayerFiles(s: LayoutStore, image: AssembledImage): Promise<Record<string, string>> {
  const last = image.layers.at(-1);
  if (!last) throw new Error('no layers');
  const ex = extract();
  s.openRead(last.descriptor.digest).pipe(ex);
  const files: Record<string, string> = {};
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    files[entry.header.name] = entry.header.type === 'file' ? Buffer.concat(chunks).toString() : `<${entry.header.type}>`;
  }
  return files;
}

describe('assembleHeavy', () => {
  it('stacks base, one stored layer per pinned version (by digest, not repacked) and the supervisor', async () => {
    const s = await store();
    const manifest = await history(s);
    const plan = planBuild(
      WS,
      recipe(['catalog', 'web'], { env: { SHOP_REGION: 'local' }, ports: [8080, 8081], labels: { team: 'shop' } }),
      manifest,
      { env: {} },
    );
    const image = await assembleHeavy(plan, SCRATCH, s);
    const { manifest: m, config } = await validateImage(s, image);

    const pinned = [manifest.services['catalog']?.versions[1]?.layer.digest, manifest.services['web']?.versions[0]?.layer.digest];
    expect(m.layers.slice(0, 2).map((l) => l.digest)).toEqual(pinned);
    expect(m.layers).toHaveLength(3);
    expect(image.manifest).toMatchObject({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      platform: { architecture: 'amd64', os: 'linux' },
    });

    expect(config.created).toBe('2026-01-01T00:01:00Z');
    expect(config.config.Entrypoint).toEqual(['/bin/sh', '/bake/entrypoint.sh']);
    expect(config.config.Cmd).toEqual([]);
    expect(config.config.Env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'SHOP_REGION=local']);
    expect(config.config.ExposedPorts).toEqual({ '8080/tcp': {}, '8081/tcp': {} });
    expect(config.config.Labels).toMatchObject({
      team: 'shop',
      'dev.bake.vector': '{"catalog":2,"web":1}',
      'dev.bake.image': 'shop',
      'dev.bake.level': 'heavy',
    });
    expect(m.annotations).toMatchObject({
      'org.opencontainers.image.title': 'shop',
      'dev.bake.vector': '{"catalog":2,"web":1}',
      'org.opencontainers.image.revision': '2'.repeat(40),
    });
    expect(config.history?.map((h) => h.created_by)).toEqual([
      `bake: service catalog v2 (${manifest.services['catalog']?.versions[1]?.digest})`,
      `bake: service web v1 (${manifest.services['web']?.versions[0]?.digest})`,
      'bake: supervisor /bake/entrypoint.sh',
    ]);

    const files = await bakeLayerFiles(s, image);
    expect(Object.keys(files)).toEqual(['bake/', 'bake/entrypoint.sh', 'bake/image.json']);
    expect(files['bake/entrypoint.sh']).toContain("start 'catalog' '/srv/catalog' env ");
    expect(files['bake/entrypoint.sh']).toContain('BAKE_SERVICE_VERSION=2');
    expect(JSON.parse(files['bake/image.json'] ?? '')).toMatchObject({
      image: 'shop',
      level: 'heavy',
      vector: { catalog: 2, web: 1 },
      services: { catalog: { version: 2, install: '/srv/catalog' } },
    });
  });

  it('gives the same digest for the same plan, and another one when a pinned version changes', async () => {
    const s = await store();
    const manifest = await history(s);
    const latest = planBuild(WS, recipe(['catalog', 'web']), manifest, { env: {} });
    const first = await assembleHeavy(latest, SCRATCH, s);
    const again = await assembleHeavy(planBuild(WS, recipe(['catalog', 'web']), manifest, { env: {} }), SCRATCH, s);
    const older = await assembleHeavy(planBuild(WS, recipe(['catalog', 'web']), manifest, { env: {}, pins: { catalog: 1 } }), SCRATCH, s);
    expect(again.manifest.digest).toBe(first.manifest.digest);
    expect(older.manifest.digest).not.toBe(first.manifest.digest);
  });

  it('puts the base layers first and keeps the base config under the recipe env', async () => {
    const s = await store();
    const manifest = await history(s);
    const layer = await writeLayer(s, [dir('bin'), file('bin/hello', 'hi\n', 0o755)], { prefix: '', mtime: 0 });
    const base: BaseImage = {
      layers: [layer],
      config: { Env: ['PATH=/bin', 'LANG=C'], WorkingDir: '/srv', Labels: { from: 'base' } },
      history: [{ created_by: 'base layer' }],
      description: `rootfs ${layer.descriptor.digest}`,
      digest: 'sha256:'.padEnd(71, 'b'),
    };
    const image = await assembleHeavy(planBuild(WS, recipe(['web'], { env: { LANG: 'en' } }), manifest, { env: {} }), base, s);
    const { manifest: m, config } = await validateImage(s, image);
    expect(m.layers[0]?.digest).toBe(layer.descriptor.digest);
    expect(config.config.Env).toEqual(['PATH=/bin', 'LANG=en']);
    expect(config.config.WorkingDir).toBe('/srv');
    expect(config.config.Labels?.['from']).toBe('base');
    expect(config.history?.[0]).toEqual({ created_by: 'base layer' });
    expect(m.annotations?.['org.opencontainers.image.base.digest']).toBe(base.digest);
  });

  it('uses the recipe entrypoint instead of the supervisor, without Cmd', async () => {
    const s = await store();
    const plan = planBuild(WS, recipe(['web'], { entrypoint: ['/srv/web/start'] }), await history(s), { env: {} });
    const { config } = await validateImage(s, await assembleHeavy(plan, SCRATCH, s));
    expect(config.config.Entrypoint).toEqual(['/srv/web/start']);
    expect(config.config.Cmd).toBeUndefined();
  });

  it('adds the provisioner layer, made from a partial image of base and services, before the supervisor', async () => {
    const s = await store();
    const manifest = await history(s);
    const plan = planBuild(WS, recipe(['web'], { provision: ['echo hi > /etc/motd'] }), manifest, { env: {} });
    const seen: AssembledImage[] = [];
    const image = await assembleHeavy(plan, SCRATCH, s, async (partial) => {
      seen.push(partial);
      return writeLayer(s, [dir('etc'), file('etc/motd', 'hi\n')], { prefix: '', mtime: plan.created });
    });
    const { config } = await validateImage(s, image);
    expect(seen).toHaveLength(1);
    const partial = await validateImage(s, seen[0] as AssembledImage);
    expect(partial.config.config.Entrypoint).toEqual(['/bin/sh']);
    expect(partial.manifest.layers.map((l) => l.digest)).toEqual([manifest.services['web']?.versions[0]?.layer.digest]);
    expect(image.layers).toHaveLength(3);
    expect(config.history?.map((h) => h.created_by)).toEqual([
      expect.stringMatching(/^bake: service web v1 /),
      'bake: provision ["echo hi > /etc/motd"]',
      'bake: supervisor /bake/entrypoint.sh',
    ]);
  });

  it('refuses a pinned version whose layer is missing from the store', async () => {
    const full = await store();
    const manifest = await history(full);
    const empty = await store();
    const plan = planBuild(WS, recipe(['web']), manifest, { env: {} });
    await expect(assembleHeavy(plan, SCRATCH, empty)).rejects.toThrow(StoreError);
    await expect(assembleHeavy(plan, SCRATCH, empty)).rejects.toThrow(/missing from the store; run bake commit again/);
  });
});

describe('assembleLight', () => {
  it('holds the agent and no service layer or version, so every vector gets the same image', async () => {
    const s = await store();
    const manifest = await history(s);
    const light = recipe(['catalog', 'web'], { bake: 'light' });
    const newest = await assembleLight(planBuild(WS, light, manifest, { env: {} }), SCRATCH, s);
    const older = await assembleLight(planBuild(WS, light, manifest, { env: {}, pins: { catalog: 1 } }), SCRATCH, s);
    expect(older.manifest.digest).toBe(newest.manifest.digest);

    const { manifest: m, config } = await validateImage(s, newest);
    expect(m.layers).toHaveLength(1);
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    expect(config.config.Entrypoint).toEqual(['/bin/sh', '/bake/agent.sh']);
    expect(config.config.Labels?.['dev.bake.vector']).toBeUndefined();
    expect(config.config.Labels?.['dev.bake.level']).toBe('light');
    expect(m.annotations?.['dev.bake.vector']).toBeUndefined();
    expect(m.annotations?.['org.opencontainers.image.revision']).toBeUndefined();
    const files = await bakeLayerFiles(s, newest);
    expect(Object.keys(files)).toEqual(['bake/', 'bake/agent.sh', 'bake/image.json']);
    expect(JSON.parse(files['bake/image.json'] ?? '')).toEqual({
      image: 'shop',
      level: 'light',
      services: { catalog: { install: '/srv/catalog', port: 8081 }, web: { install: '/srv/web', port: 8080 } },
    });
  });
});
