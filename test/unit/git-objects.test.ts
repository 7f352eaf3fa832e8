import { execFile } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobReader } from '../../src/source/git-blobs.js';
import { lastCommitOf, listTree } from '../../src/source/git-objects.js';
import { openGitRepo } from '../../src/source/git-source.js';
import type { TreeEntry } from '../../src/tree/tree.js';
import { gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

/** What an entry says, without its functions. */
function shape(entries: readonly TreeEntry[]) {
  return entries
    .map((e) => ({ path: e.path, type: e.type, mode: e.mode, size: e.size, linkTarget: e.linkTarget }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

describe.skipIf(tools.skip)('trees and history read through git cat-file --batch-command', () => {
  let repo: Repo;
  const paths = ['a', 'b', 'c', 'd/e', 'd', ''];

  beforeAll(async () => {
    repo = await gitRepo({ 'a/one': '1\n', 'b/two': '2\n', 'c/three': '3\n', 'd/e/deep/four': '4\n', 'z/other': 'z\n' });
    await chmod(join(repo.dir, 'a', 'one'), 0o755);
    await symlink('../b/two', join(repo.dir, 'a', 'link'));
    await writeFile(join(repo.dir, 'a', 'empty'), '');
    await repo.commitAll('more in a', '2026-01-02T00:00:00Z');
    // A side branch changes b and d/e; the main line changes c and z; they merge (the merge keeps
    // the side's b and d, so it is TREESAME to the side for them and to main for c).
    await repo.git('checkout', '-q', '-b', 'side');
    await writeFile(join(repo.dir, 'b', 'two'), 'side\n');
    await mkdir(join(repo.dir, 'd', 'e', 'new'), { recursive: true });
    await writeFile(join(repo.dir, 'd', 'e', 'new', 'five'), '5\n');
    await repo.commitAll('side changes b and d/e', '2026-01-03T00:00:00Z');
    await repo.git('checkout', '-q', 'main');
    await writeFile(join(repo.dir, 'c', 'three'), 'main\n');
    await repo.commitAll('main changes c', '2026-01-04T00:00:00Z');
    await writeFile(join(repo.dir, 'z', 'other'), 'main again\n');
    await repo.commitAll('main changes z', '2026-01-05T00:00:00Z');
    await repo.git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'merge', '-q', '--no-edit', 'side');
    // An evil merge: a merge that changes a, differing from both of its parents there.
    await repo.git('checkout', '-q', '-b', 'other', 'HEAD~1');
    await writeFile(join(repo.dir, 'c', 'three'), 'other\n');
    await repo.commitAll('other changes c', '2026-01-06T00:00:00Z');
    await repo.git('checkout', '-q', 'main');
    await repo.git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'merge', '-q', '--no-commit', '-X', 'ours', 'other');
    await writeFile(join(repo.dir, 'a', 'one'), 'evil\n');
    await repo.git('add', '-A');
    await repo.git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-q', '--no-edit');
  });
  afterAll(async () => {
    await repo?.cleanup();
  });

  it('finds the last commit of each directory as `git log -1 -- path` does, across merges', async () => {
    const head = await repo.git('rev-parse', 'HEAD');
    const reader = blobReader(repo.dir, { processes: 1, command: true });
    const seen = new Set<string>();
    for (const path of paths) {
      const tree = await repo.git('rev-parse', `HEAD:${path}`);
      const found = await lastCommitOf(reader, head, path, tree, seen);
      const expected = (await repo.git('log', '-1', '--format=%H %ct %an <%ae>', 'HEAD', ...(path === '' ? [] : ['--', path]))).split(' ');
      expect(found, path).toEqual({ revision: expected[0], time: Number(expected[1]), author: expected.slice(2).join(' ') });
    }
    // Everything the walks read is HEAD or an ancestor of it.
    for (const id of seen) expect(await repo.git('merge-base', '--is-ancestor', id, head).then(() => true)).toBe(true);
    expect(seen.has(head)).toBe(true);
  });

  it('lists a tree with the modes, ids and sizes ls-tree gives', async () => {
    const reader = blobReader(repo.dir, { processes: 1, command: true });
    for (const path of ['a', 'd', '']) {
      const listed = await listTree(reader, await repo.git('rev-parse', `HEAD:${path}`), path);
      const lsTree = (await repo.git('ls-tree', '-r', '-t', '-l', 'HEAD', ...(path === '' ? [] : ['--', path])))
        .split('\n')
        .map((line) => {
          const [meta = '', file = ''] = line.split('\t');
          const [mode, type, oid, size] = meta.split(/ +/);
          return { mode, type, oid, size: size === '-' ? 0 : Number(size), path: file };
        })
        .filter((e) => e.path !== path && e.path.startsWith(path === '' ? '' : `${path}/`));
      const sizeless = (e: { mode?: string; size: number }) => (e.mode === '120000' ? { ...e, size: 0 } : e);
      expect(listed.map(sizeless).sort((x, y) => (x.path < y.path ? -1 : 1))).toEqual(
        lsTree.map(sizeless).sort((x, y) => (x.path < y.path ? -1 : 1)),
      );
    }
  });

  it('a few directories read this way are the trees that ls-tree and git log give for many', async () => {
    const few = await openGitRepo(repo.dir, 'test');
    const many = await openGitRepo(repo.dir, 'test');
    const dirs = ['a', 'd/e'].map((path) => ({ path, label: path }));
    const viaObjects = await few?.readTrees(dirs);
    // More directories than the cat-file path takes: ls-tree and git log answer.
    const viaCommands = await many?.readTrees([...dirs, ...['b', 'c', 'd', 'z'].map((path) => ({ path, label: path }))]);
    for (const { path } of dirs) {
      const a = viaObjects?.get(path);
      const b = viaCommands?.get(path);
      expect(shape(a?.entries ?? [])).toEqual(shape(b?.entries ?? []));
      expect({ revision: a?.revision, time: a?.commitTime, author: a?.author, tree: a?.tree }).toEqual({
        revision: b?.revision,
        time: b?.commitTime,
        author: b?.author,
        tree: b?.tree,
      });
    }
    const link = viaObjects?.get('a')?.entries.find((e) => e.path === 'link');
    expect(link?.linkTarget).toBe('../b/two');
    const one = viaObjects?.get('a')?.entries.find((e) => e.path === 'one');
    expect(one?.mode).toBe(0o755);
    expect((await one?.read?.())?.toString()).toBe('evil\n');
  });

  // Last: once a git without --batch-command is met, this process keeps to ls-tree and git log.
  it('with a git older than --batch-command (2.36), the same trees come from ls-tree and git log', async () => {
    const bin = join(repo.dir, '..', 'old-git');
    await mkdir(bin, { recursive: true });
    const real = (await execFileText('sh', ['-c', 'command -v git'])).trim();
    await writeFile(
      join(bin, 'git'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = --batch-command ] && { echo "error: unknown option \\\`batch-command'" >&2; exit 129; }; done\nexec ${real} "$@"\n`,
      { mode: 0o755 },
    );
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const old = await (await openGitRepo(repo.dir, 'test'))?.readTrees([{ path: 'a', label: 'a' }]);
      process.env.PATH = path;
      const current = await (await openGitRepo(repo.dir, 'test'))?.readTrees([
        { path: 'a', label: 'a' },
        ...['b', 'c', 'd', 'z'].map((p) => ({ path: p, label: p })),
      ]);
      expect(shape(old?.get('a')?.entries ?? [])).toEqual(shape(current?.get('a')?.entries ?? []));
      expect(old?.get('a')?.revision).toBe(current?.get('a')?.revision);
    } finally {
      process.env.PATH = path;
    }
  });
});

function execFileText(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(file, args, (error, stdout) => (error ? reject(error) : resolve(stdout))));
}
