import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobReader, readWhole } from '../../src/source/git-blobs.js';
import { lastCommits } from '../../src/source/git-last-commits.js';
import { openGitRepo } from '../../src/source/git-source.js';
import { GitError } from '../../src/util/errors.js';
import { gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

describe.skipIf(tools.skip)('streaming git blobs and batched history', () => {
  let repo: Repo;
  const big = randomBytes(3 << 20); // bigger than any pipe or chunk: arrives in many pieces
  let oids: Record<string, string>;

  beforeAll(async () => {
    repo = await gitRepo({ 'a/small': 'small\n', 'b/empty': '', 'c/other': 'other\n' });
    await writeFile(join(repo.dir, 'a', 'big.bin'), big);
    await repo.commitAll('big file', '2026-01-02T00:00:00Z');
    oids = {};
    for (const path of ['a/small', 'a/big.bin', 'b/empty', 'c/other']) oids[path] = await repo.git('rev-parse', `HEAD:${path}`);
  });
  afterAll(async () => {
    await repo?.cleanup();
  });

  it('streams blobs in the order opened, bodies byte-exact, empty ones included', async () => {
    const reader = blobReader(repo.dir);
    const bodies = ['a/big.bin', 'b/empty', 'a/small', 'a/big.bin'].map((p) => reader.open(oids[p] ?? ''));
    const read = await Promise.all(bodies.map(readWhole));
    expect(read[0]?.equals(big)).toBe(true);
    expect(read[1]?.length).toBe(0);
    expect(read[2]?.toString()).toBe('small\n');
    expect(read[3]?.equals(big)).toBe(true);
  });

  it('a body destroyed unread is skipped, and the ones after it still arrive', async () => {
    const reader = blobReader(repo.dir);
    const skipped = reader.open(oids['a/big.bin'] ?? '');
    const after = reader.open(oids['c/other'] ?? '');
    skipped.destroy();
    expect((await readWhole(after)).toString()).toBe('other\n');
    // The reader is still usable afterwards (a new git process when the old one went idle).
    await new Promise((r) => setTimeout(r, 20));
    expect((await readWhole(reader.open(oids['a/small'] ?? ''))).toString()).toBe('small\n');
  });

  it("lean bodies (the tar writer's) arrive in order, byte-exact, mixed with streams on one reader", async () => {
    const reader = blobReader(repo.dir);
    const bodies = [
      reader.chunks(oids['a/big.bin'] ?? ''),
      reader.open(oids['a/small'] ?? ''),
      reader.chunks(oids['b/empty'] ?? ''),
      reader.chunks(oids['a/big.bin'] ?? ''),
    ];
    const read = await Promise.all(bodies.map((b) => readWhole(b)));
    expect(read[0]?.equals(big)).toBe(true);
    expect(read[1]?.toString()).toBe('small\n');
    expect(read[2]?.length).toBe(0);
    expect(read[3]?.equals(big)).toBe(true);
  });

  it('a lean body read slowly holds git back instead of buffering it, and one cancelled unread is skipped', async () => {
    const reader = blobReader(repo.dir);
    const slow = reader.chunks(oids['a/big.bin'] ?? '');
    const cancelled = reader.chunks(oids['a/big.bin'] ?? '');
    const after = reader.chunks(oids['c/other'] ?? '');
    cancelled.cancel();
    const chunks: Buffer[] = [];
    for await (const chunk of slow) {
      chunks.push(chunk);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
    expect((await readWhole(after)).toString()).toBe('other\n');
  });

  it('a lean body given up half way lets the next one through', async () => {
    const reader = blobReader(repo.dir);
    const first = reader.chunks(oids['a/big.bin'] ?? '');
    const second = reader.chunks(oids['a/small'] ?? '');
    for await (const _ of first) break;
    expect((await readWhole(second)).toString()).toBe('small\n');
  });

  it('a missing object fails its body with GitError', async () => {
    const reader = blobReader(repo.dir);
    await expect(readWhole(reader.open('0'.repeat(40)))).rejects.toBeInstanceOf(GitError);
  });

  it('file entries of a committed tree stream their blobs and declare their sizes', async () => {
    const git = await openGitRepo(repo.dir, 'test');
    const trees = await git?.readTrees([{ path: 'a', label: 'a' }]);
    const entry = trees?.get('a')?.entries.find((e) => e.path === 'big.bin');
    expect(entry?.size).toBe(big.length);
    expect(entry?.open).toBeTypeOf('function');
    expect((await readWhole(entry?.open?.() as never)).equals(big)).toBe(true);
    expect((await readWhole(entry?.chunks?.() as never)).equals(big)).toBe(true);
  });

  it('one history walk answers as `git log -1 -- path` does, merges included', async () => {
    const linear = await lastCommits(repo.dir, await repo.git('rev-parse', 'HEAD'), ['a', 'b', 'c']);
    for (const path of ['a', 'b', 'c'])
      expect(linear.get(path)?.revision).toBe(await repo.git('log', '-1', '--format=%H', 'HEAD', '--', path));
    expect(linear.get('a')?.revision).not.toBe(linear.get('b')?.revision);

    // A side branch changes b, the main line changes c, and they merge: the walk meets a merge.
    await repo.git('checkout', '-q', '-b', 'side');
    await writeFile(join(repo.dir, 'b', 'empty'), 'now not\n');
    await repo.commitAll('side changes b', '2026-01-03T00:00:00Z');
    await repo.git('checkout', '-q', 'main');
    await writeFile(join(repo.dir, 'c', 'other'), 'changed\n');
    await repo.commitAll('main changes c', '2026-01-04T00:00:00Z');
    await repo.git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'merge', '-q', '--no-edit', 'side');
    const head = await repo.git('rev-parse', 'HEAD');
    const merged = await lastCommits(repo.dir, head, ['a', 'b', 'c', '']);
    for (const path of ['a', 'b', 'c'])
      expect(merged.get(path)?.revision).toBe(await repo.git('log', '-1', '--format=%H', 'HEAD', '--', path));
    expect(merged.get('')?.revision).toBe(head);
    expect(merged.get('b')?.time).toBe(Date.parse('2026-01-03T00:00:00Z') / 1000);
  });
});
