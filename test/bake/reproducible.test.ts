import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { cloneRepo, shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git', 'busybox');

async function bakeShop(dir: string, env: Record<string, string> = {}) {
  const commit = await bake(['-C', dir, '--json', 'commit', '--all'], { env });
  expect(commit.exitCode, commit.stderr).toBe(0);
  const build = await bake(['-C', dir, '--json', 'build', 'shop'], { env });
  expect(build.exitCode, build.stderr).toBe(0);
  return build.json.builds[0];
}

describe.skipIf(tools.skip)('reproducibility', () => {
  const repos: Repo[] = [];
  afterAll(() => Promise.all(repos.map((r) => r.cleanup())));

  it('gives the same digest for the same committed versions in two fresh repositories and a clone', async () => {
    const a = await shopRepo();
    const b = await shopRepo();
    repos.push(a, b);
    expect(await a.git('rev-parse', 'HEAD')).toBe(await b.git('rev-parse', 'HEAD'));
    const first = await bakeShop(a.dir);
    // Wall-clock time passes between the bakes; nothing in the image may depend on it.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await bakeShop(b.dir);
    expect(second.digest).toBe(first.digest);
    expect(first.digest).toMatch(/^sha256:[a-f0-9]{64}$/);

    const clone = await cloneRepo(a.dir);
    repos.push(clone);
    const { makeBusyboxRootfs } = await import('../../scripts/make-busybox-rootfs.js' as string);
    await makeBusyboxRootfs(join(clone.dir, 'base', 'busybox'));
    expect((await bakeShop(clone.dir)).digest).toBe(first.digest);
  });

  it('uses one clock: SOURCE_DATE_EPOCH when set, else the commit time, in every tar header', async () => {
    const repo = await shopRepo({ base: false });
    repos.push(repo);
    const plain = await bakeShop(repo.dir);
    const store = join(repo.dir, '.bake', 'store', 'blobs', 'sha256');
    const manifest = JSON.parse(await readFile(join(store, plain.digest.slice(7)), 'utf8'));
    for (const layer of manifest.layers) {
      const entries = await readTarHeaders(join(store, layer.digest.slice(7)));
      for (const e of entries) {
        expect(e.mtime, e.name).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
        expect([e.uid, e.gid, e.uname, e.gname]).toEqual([0, 0, '', '']);
      }
      const names = entries.map((e) => e.name);
      expect(names).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    }
    const epoch = await bake(['-C', repo.dir, '--json', 'build', 'shop'], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    expect(epoch.exitCode, epoch.stderr).toBe(0);
    expect(epoch.json.builds[0].digest).not.toBe(plain.digest);
  });
});

/** Raw tar headers of a layer (tar-stream through bake's own reader would hide them). */
async function readTarHeaders(path: string) {
  const { extract } = await import('tar-stream');
  const { createReadStream } = await import('node:fs');
  const ex = extract();
  createReadStream(path).pipe(ex);
  const headers: { name: string; mtime: number; uid: number; gid: number; uname: string; gname: string }[] = [];
  for await (const entry of ex) {
    const h = entry.header;
    headers.push({
      name: h.name,
      mtime: (h.mtime as Date).getTime() / 1000,
      uid: h.uid ?? -1,
      gid: h.gid ?? -1,
      uname: h.uname ?? '?',
      gname: h.gname ?? '?',
    });
    entry.resume();
  }
  return headers;
}
