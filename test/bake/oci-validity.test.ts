import { execFile } from 'node:child_process';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, tempDir, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const exec = promisify(execFile);
const tools = requireTools('git', 'busybox', 'skopeo', 'umoci');

describe.skipIf(tools.skip)('the store is a valid OCI image layout that other tools accept', () => {
  let repo: Repo;
  let build: { digest: string; build: number; vector: Record<string, number> };
  let unpacked: { dir: string; cleanup(): Promise<void> };

  beforeAll(async () => {
    repo = await shopRepo();
    expect((await bake(['-C', repo.dir, 'commit', '--all'])).exitCode).toBe(0);
    build = (await bake(['-C', repo.dir, '--json', 'build', 'shop'])).json.builds[0];
    unpacked = await tempDir('umoci');
  });
  afterAll(async () => {
    await repo?.cleanup();
    await unpacked?.cleanup();
  });

  it('skopeo inspects <image>:<build> and reports our digest, labels and layers', async () => {
    const { stdout } = await exec('skopeo', ['inspect', `oci:${join(repo.dir, '.bake', 'store')}:shop:${build.build}`]);
    const info = JSON.parse(stdout);
    expect(info.Digest).toBe(build.digest);
    expect(JSON.parse(info.Labels['dev.bake.vector'])).toEqual(build.vector);
    expect(info.Labels['org.opencontainers.image.revision']).toBe((await repo.git('rev-parse', 'HEAD')).trim());
    expect(info.Layers).toHaveLength(5); // base, three services, supervisor
    const raw = JSON.parse(
      (await exec('skopeo', ['inspect', '--raw', `oci:${join(repo.dir, '.bake', 'store')}:shop:${build.build}`])).stdout,
    );
    expect(raw.annotations['org.opencontainers.image.created']).toBe('2026-01-01T00:00:00Z');
  });

  it('umoci unpacks the services with the right content and modes', async () => {
    const bundle = join(unpacked.dir, 'bundle');
    await exec('umoci', ['unpack', '--rootless', '--image', `${join(repo.dir, '.bake', 'store')}:shop:${build.build}`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    const run = await lstat(join(rootfs, 'srv', 'catalog', 'run.sh'));
    expect(run.mode & 0o777).toBe(0o755);
    expect((await lstat(join(rootfs, 'srv', 'catalog', 'products.json'))).mode & 0o777).toBe(0o644);
    expect(await readFile(join(rootfs, 'srv', 'catalog', 'products.json'), 'utf8')).toContain('tea-green');
    expect(await readlink(join(rootfs, 'srv', 'web', 'static', 'home.html'))).toBe('index.html');
    expect((await lstat(join(rootfs, 'bin', 'busybox'))).mode & 0o111).not.toBe(0);
    const image = JSON.parse(await readFile(join(rootfs, 'bake', 'image.json'), 'utf8'));
    expect(image.vector).toEqual(build.vector);
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    expect(config.process.args).toEqual(['/bin/sh', '/bake/entrypoint.sh']);
  });
});
