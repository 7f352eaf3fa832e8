import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { shopRepo, tempDir, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const exec = promisify(execFile);
// Images are content-addressed and test files run in parallel on one engine: a clock of this
// file's own keeps its images distinct from every other file's, so no test removes another's.
process.env['SOURCE_DATE_EPOCH'] = '1700000303';
const tools = requireTools('git', 'busybox', 'docker', 'umoci');

describe.skipIf(tools.skip)('provisioners', () => {
  let repo: Repo;
  beforeAll(async () => {
    repo = await shopRepo();
    await bake(['-C', repo.dir, 'commit', '--all']);
  });
  afterAll(() => repo?.cleanup());

  async function leftovers() {
    const engine = await createEngine();
    return {
      containers: (await engine.listContainers({ 'dev.bake.provision': '' })).length,
      images: (await engine.listImages({ 'dev.bake.provision': '' })).length,
    };
  }

  it('turns what the commands change into a layer, and marks the build not reproducible', async () => {
    await writeFile(
      join(repo.dir, 'recipes', 'shop.yaml'),
      'image: shop\nbake: heavy\nbase: {rootfs: base/busybox}\nservices: [catalog, cart, web]\nprovision:\n  - mkdir -p /etc/shop && echo provisioned > /etc/shop/motd\n  - rm /srv/cart/lib/cart.sh\n',
    );
    const run = await bake(['-C', repo.dir, '--json', 'build', 'shop']);
    expect(run.exitCode, run.stderr).toBe(0);
    const build = run.json.builds[0];
    expect(build.reproducible).toBe(false);
    const unpacked = await tempDir('provisioned');
    try {
      await exec('umoci', [
        'unpack',
        '--rootless',
        '--image',
        `${join(repo.dir, '.bake', 'store')}:shop:${build.build}`,
        join(unpacked.dir, 'b'),
      ]);
      const rootfs = join(unpacked.dir, 'b', 'rootfs');
      expect(await readFile(join(rootfs, 'etc', 'shop', 'motd'), 'utf8')).toBe('provisioned\n');
      await expect(access(join(rootfs, 'srv', 'cart', 'lib', 'cart.sh'))).rejects.toThrow();
      expect(await readFile(join(rootfs, 'srv', 'catalog', 'products.json'), 'utf8')).toContain('tea-green');
    } finally {
      await unpacked.cleanup();
    }
    const manifest: any = await manifestOf(repo.dir);
    expect(manifest.builds.shop.at(-1).reproducible).toBe(false);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('reports a failing step with its output and leaves no container behind', async () => {
    await writeFile(
      join(repo.dir, 'recipes', 'shop.yaml'),
      'image: shop\nbase: {rootfs: base/busybox}\nservices: [catalog]\nprovision: ["echo about to fail; exit 3"]\n',
    );
    const run = await bake(['-C', repo.dir, 'build', 'shop']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('provisioning failed with exit code 3');
    expect(run.stderr).toContain('about to fail');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });
});
