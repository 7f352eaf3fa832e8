import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyOffsets } from '../../src/layer/tar-writer.js';
import { writeLayer } from '../../src/layer/layer.js';
import { openLayoutStore } from '../../src/oci/layout-store.js';
import { openGitRepo } from '../../src/source/git-source.js';
import type { TreeEntry } from '../../src/tree/tree.js';
import type { Digest } from '../../src/util/digest.js';
import { gitRepo, tempDir, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// A layer written after an earlier one of the same service copies the unchanged git blobs from
// that layer's file (src/layer/layer-bodies.ts). What must hold: byte for byte the layer a fresh
// process writes from git alone, git asked only for what changed, and git again whenever the
// earlier layer's file does not hold what was remembered.
const tools = requireTools('git');

describe.skipIf(tools.skip)('a layer copies unchanged bodies from the previous one', () => {
  let repo: Repo;
  let scratch: { dir: string; cleanup(): Promise<void> };
  const layerOptions = { prefix: '/srv/svc', mtime: 1_767_225_600 };
  const index = () => join(scratch.dir, 'layer-bodies');

  beforeAll(async () => {
    repo = await gitRepo({ 'svc/notes.txt': 'one\n' });
    await writeFile(join(repo.dir, 'svc', 'big-1.bin'), randomBytes(1_500_000));
    await writeFile(join(repo.dir, 'svc', 'big-2.bin'), randomBytes(700_000));
    await repo.commitAll('big files', '2026-01-02T00:00:00Z');
    scratch = await tempDir('bake-layer-bodies-');
  });
  afterAll(async () => {
    await repo?.cleanup();
    await scratch?.cleanup();
  });

  /** The service's committed tree now, each body's reading from git noted in `asked`. */
  async function tree(asked: Set<string>): Promise<TreeEntry[]> {
    const git = await openGitRepo(repo.dir, 'test');
    const committed = (await git?.readTrees([{ path: 'svc', label: 'svc' }]))?.get('svc');
    if (!committed) throw new Error('no tree');
    return committed.entries.map((e) => {
      const chunks = e.chunks;
      if (!chunks) return e;
      const noted = () => {
        asked.add(e.path);
        return chunks();
      };
      return { ...e, chunks: noted };
    });
  }

  async function bytesOf(store: { blobPath(d: Digest): string }, digest: Digest): Promise<Buffer> {
    const handle = await open(store.blobPath(digest), 'r');
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  it('writes the same bytes as from git, asking git only for the changed file, and git again when the file disagrees', async () => {
    const store = await openLayoutStore(join(scratch.dir, 'store'));
    const first = await writeLayer(store, await tree(new Set()), { ...layerOptions, bodies: { dir: index() } });
    await writeFile(join(repo.dir, 'svc', 'notes.txt'), 'two\n');
    await repo.commitAll('change notes', '2026-01-03T00:00:00Z');

    const asked = new Set<string>();
    const second = await writeLayer(store, await tree(asked), {
      ...layerOptions,
      bodies: { dir: index(), previous: first.descriptor.digest },
    });
    expect([...asked]).toEqual(['notes.txt']);
    // The index is kept for the next process too: one file per layer, named by its digest.
    const saved = JSON.parse(await readFile(join(index(), `${first.descriptor.digest.slice(7)}.json`), 'utf8'));
    expect(saved.layer).toBe(first.descriptor.digest);
    expect(saved.bodies.map((b: unknown[]) => b[0]).sort()).toEqual(['srv/svc/big-1.bin', 'srv/svc/big-2.bin', 'srv/svc/notes.txt']);

    // A fresh store without the first layer's file: everything from git.
    const fresh = await openLayoutStore(join(scratch.dir, 'fresh'));
    const fromGit = new Set<string>();
    const again = await writeLayer(fresh, await tree(fromGit), {
      ...layerOptions,
      bodies: { dir: index(), previous: first.descriptor.digest },
    });
    expect([...fromGit].sort()).toEqual(['big-1.bin', 'big-2.bin', 'notes.txt']);
    expect(again.descriptor.digest).toBe(second.descriptor.digest);
    expect((await bytesOf(fresh, again.descriptor.digest)).equals(await bytesOf(store, second.descriptor.digest))).toBe(true);

    // A copy of the first layer whose member header before big-1.bin was damaged: that body comes from git.
    const damaged = await openLayoutStore(join(scratch.dir, 'damaged'));
    await mkdir(join(scratch.dir, 'damaged', 'blobs', 'sha256'), { recursive: true });
    await copyFile(store.blobPath(first.descriptor.digest), damaged.blobPath(first.descriptor.digest));
    const sorted = (await tree(new Set())).map((e) => ({ ...e, path: `srv/svc/${e.path}` })).sort((a, b) => (a.path < b.path ? -1 : 1));
    const placed = [
      { path: 'srv', type: 'directory', mode: 0o755, size: 0 },
      { path: 'srv/svc', type: 'directory', mode: 0o755, size: 0 },
      ...sorted,
    ] as TreeEntry[];
    const at = bodyOffsets(placed, { mtime: layerOptions.mtime })[placed.findIndex((e) => e.path === 'srv/svc/big-1.bin')] as number;
    const handle = await open(damaged.blobPath(first.descriptor.digest), 'r+');
    await handle.write(Buffer.alloc(512), 0, 512, at - 512);
    await handle.close();
    const repaired = new Set<string>();
    const third = await writeLayer(damaged, await tree(repaired), {
      ...layerOptions,
      bodies: { dir: index(), previous: first.descriptor.digest },
    });
    expect([...repaired].sort()).toEqual(['big-1.bin', 'notes.txt']);
    expect(third.descriptor.digest).toBe(second.descriptor.digest);
  });
});
