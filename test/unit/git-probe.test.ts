import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRepo } from '../../src/source/git-probe.js';
import { openGitRepo } from '../../src/source/git-source.js';
import { gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

/**
 * The one-spawn probe (top, HEAD and the sources' tree ids in one `git rev-parse`) must answer
 * exactly what `git ls-tree` answers, and must not mistake what is not a committed directory for one.
 */
describe.skipIf(tools.skip)('probing a repository in one git call', () => {
  let repo: Repo;

  beforeAll(async () => {
    repo = await gitRepo({
      'ws/bake.yaml': 'services: {}\n',
      'ws/services/a/run.sh': 'a\n',
      'ws/services/b/x/y': 'b\n',
      'ws/services/file': 'not a directory\n',
      'ws/linked': { symlink: 'services' },
    });
    // A directory in the work tree that was never committed.
    await mkdir(join(repo.dir, 'ws', 'services', 'new'));
    await writeFile(join(repo.dir, 'ws', 'services', 'new', 'f'), 'new\n');
  });
  afterAll(async () => {
    await repo?.cleanup();
  });

  it('answers the tree ids ls-tree gives, keyed by path in the repository', async () => {
    const ws = join(repo.dir, 'ws');
    const probe = await probeRepo(ws, 'test', ['services/a', './services/b/', 'services/b/x', '.']);
    expect(probe?.head).toBe(await repo.git('rev-parse', 'HEAD'));
    expect(probe?.trees).toEqual(
      new Map([
        ['ws/services/a', await repo.git('rev-parse', 'HEAD:ws/services/a')],
        ['ws/services/b', await repo.git('rev-parse', 'HEAD:ws/services/b')],
        ['ws/services/b/x', await repo.git('rev-parse', 'HEAD:ws/services/b/x')],
        ['ws', await repo.git('rev-parse', 'HEAD:ws')],
      ]),
    );
    const git = await openGitRepo(ws, 'test', { trees: ['services/a'] });
    expect(await git?.treeIds(['ws/services/a', 'ws/services/b'])).toEqual(
      new Map([
        ['ws/services/a', await repo.git('rev-parse', 'HEAD:ws/services/a')],
        ['ws/services/b', await repo.git('rev-parse', 'HEAD:ws/services/b')],
      ]),
    );
  });

  it.each([
    ['a directory never committed', 'services/new', []],
    ['a committed file', 'services/file', []],
    ['a path through a committed symlink', 'linked/a', []],
    ['a path outside the workspace (not asked)', '../ws/services/a', ['ws/services/a']],
  ])('takes no tree id for %s, and still answers the top and HEAD', async (_, dir, kept) => {
    const probe = await probeRepo(join(repo.dir, 'ws'), 'test', ['services/a', dir]);
    expect(probe?.head).toBe(await repo.git('rev-parse', 'HEAD'));
    expect([...(probe?.trees.keys() ?? [])]).toEqual(kept);
    const git = await openGitRepo(join(repo.dir, 'ws'), 'test', { trees: ['services/a', dir] });
    // ls-tree then tells what is a committed tree and what is not.
    expect(await git?.treeIds(['ws/services/new', 'ws/services/file', 'ws/linked/a'])).toEqual(new Map());
  });

  it('is undefined outside a work tree', async () => {
    expect(await probeRepo('/', 'test', ['x'])).toBeUndefined();
    expect(
      await probeRepo(
        '/',
        'test',
        Array.from({ length: 40 }, (_, i) => `x${i}`),
      ),
    ).toBeUndefined();
  });

  it('for many directories (one ls-tree), answers only true tree ids, and treeIds the rest', async () => {
    const many = await gitRepo({
      'ws/bake.yaml': 'services: {}\n',
      ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`ws/s/svc${i}/run.sh`, `${i}\n`])),
      'ws/s/svc[1]/glob': 'a name ls-tree would take for a pattern\n',
      'ws/s/outer/inner/f': 'nested\n',
      'ws/s/file': 'not a directory\n',
      'ws/linked': { symlink: 's' },
    });
    try {
      const ws = join(many.dir, 'ws');
      const asked = [
        ...Array.from({ length: 40 }, (_, i) => `s/svc${i}`),
        's/svc[1]',
        's/outer',
        's/outer/inner',
        's/file',
        'linked/svc1',
        '.',
      ];
      const probe = await probeRepo(ws, 'test', asked);
      expect(probe?.head).toBe(await many.git('rev-parse', 'HEAD'));
      expect(probe?.trees.size).toBeGreaterThanOrEqual(42);
      for (const [path, id] of probe?.trees ?? []) expect(id, path).toBe(await many.git('rev-parse', `HEAD:${path}`));
      expect(probe?.trees.has('ws/s/file')).toBe(false);
      const git = await openGitRepo(ws, 'test', { trees: asked });
      const wanted = ['ws/s/svc1', 'ws/s/svc[1]', 'ws/s/outer', 'ws/s/outer/inner', 'ws'];
      const ids = await git?.treeIds([...wanted, 'ws/s/file', 'ws/linked/svc1']);
      expect(ids).toEqual(new Map(await Promise.all(wanted.map(async (p) => [p, await many.git('rev-parse', `HEAD:${p}`)] as const))));
    } finally {
      await many.cleanup();
    }
  });

  it('for many directories, a repository without a commit is a GitError saying so', async () => {
    const empty = await gitRepo({});
    try {
      await empty.git('update-ref', '-d', 'HEAD');
      await expect(
        probeRepo(
          empty.dir,
          'test',
          Array.from({ length: 40 }, (_, i) => `s${i}`),
        ),
      ).rejects.toThrow(/no commits yet/);
    } finally {
      await empty.cleanup();
    }
  });
});
