import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// Images are content-addressed and test files run in parallel on one engine: a clock of this
// file's own keeps its images distinct from every other file's, so no test removes another's.
process.env['SOURCE_DATE_EPOCH'] = '1700000202';
const tools = requireTools('git', 'busybox', 'docker');

describe.skipIf(tools.skip)('bake gc', () => {
  let repo: Repo;
  const loaded: string[] = [];
  afterAll(async () => {
    const engine = await createEngine();
    for (const image of loaded) await engine.removeImage(image);
    await repo?.cleanup();
  });

  it('removes unreleased, superseded builds from the store and the engine, and keeps what releases use', async () => {
    repo = await shopRepo();
    const ws = ['-C', repo.dir, '--json'];
    const b1 = (await bake([...ws, 'build', '--commit', '--load', 'shop'])).json.builds[0];
    expect((await bake([...ws, 'release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    await appendFile(join(repo.dir, 'services', 'cart', 'VERSION'), 'x\n');
    await repo.commitAll('cart 2', '2026-01-02T00:00:00Z');
    const b2 = (await bake([...ws, 'build', '--commit', '--load', 'shop'])).json.builds[0];
    await appendFile(join(repo.dir, 'services', 'cart', 'VERSION'), 'y\n');
    await repo.commitAll('cart 3', '2026-01-03T00:00:00Z');
    const b3 = (await bake([...ws, 'build', '--commit', '--load', 'shop'])).json.builds[0];
    loaded.push(b1.load.imageId, b2.load.imageId, b3.load.imageId);

    const dry = await bake([...ws, 'gc', '--dry-run', '--engine', '--grace', '0']);
    expect(dry.json.store.builds).toEqual(['shop:2']);
    const blobsBefore = await readdir(join(repo.dir, '.bake', 'store', 'blobs', 'sha256'));

    const gc = await bake([...ws, 'gc', '--engine', '--grace', '0']);
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.json.store.builds).toEqual(['shop:2']);
    // Build 2's manifest, config and supervisor layer go; cart v2's layer stays (a committed version).
    expect(gc.json.store.blobs).toEqual(expect.arrayContaining([b2.digest, b2.config]));
    expect(gc.json.store.blobs).not.toContain(b1.digest);
    expect(gc.json.engine.images).toHaveLength(1);
    const blobsAfter = await readdir(join(repo.dir, '.bake', 'store', 'blobs', 'sha256'));
    expect(blobsAfter.length).toBe(blobsBefore.length - gc.json.store.blobs.length);

    const engine = await createEngine();
    expect(await engine.imageId(b2.config)).toBeUndefined();
    expect(await engine.imageId(b1.config)).toBe(b1.config);
    expect(await engine.imageId(b3.config)).toBe(b3.config);
    const release = await bake([...ws, 'release', 'shop', '--env', 'qa', '--build', '2']);
    expect(release.exitCode).toBe(2);
    expect(release.stderr).toMatch(/shop:2 was garbage-collected/);
    const skopeoSafe = await bake([...ws, 'release', 'shop', '--env', 'prod']);
    expect(skopeoSafe.exitCode, skopeoSafe.stderr).toBe(0);
  });
});
