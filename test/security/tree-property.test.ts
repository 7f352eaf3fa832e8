import { lstat, mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafeTar } from '../../src/layer/safe-tar.js';
import { materialize } from '../../src/source/materialize.js';
import { assertSafeEntries } from '../../src/tree/safe-entries.js';
import type { TreeEntry } from '../../src/tree/tree.js';
import { hostileTar, type Member } from './hostile-tar.js';

// Trees are written three levels below a scratch root that also holds an empty `outside`
// directory, and absolute link targets point into `outside`: whatever a bug writes through a
// link or a `..` lands where this test sees it. (Never `/`: a bug must not write on the host.)
const ABS = '@ABS@';
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bake-tree-property-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const name = fc.constantFrom('a', 'b', 'x');
const path = fc.array(name, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const relativeTarget = fc
  .array(fc.constantFrom('a', 'b', 'x', '..', '.', ''), { minLength: 1, maxLength: 6 })
  .map((parts) => parts.join('/'));
const target = fc.oneof({ weight: 4, arbitrary: relativeTarget }, { weight: 1, arbitrary: relativeTarget.map((t) => `${ABS}/${t}`) });
const entry = fc.oneof(
  path.map((p): TreeEntry => ({ path: p, type: 'file', mode: 0o644, size: 1, read: async () => Buffer.from('!') })),
  path.map((p): TreeEntry => ({ path: p, type: 'directory', mode: 0o755, size: 0 })),
  fc.tuple(path, target).map(([p, t]): TreeEntry => ({ path: p, type: 'symlink', mode: 0o777, size: 0, linkTarget: t })),
);
const trees = fc.array(entry, { minLength: 1, maxLength: 12 });

async function listAll(base: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const item of (await readdir(join(base, rel)).catch(() => [])).sort()) {
    const p = rel ? `${rel}/${item}` : item;
    out.push(p);
    if ((await lstat(join(base, p))).isDirectory()) out.push(...(await listAll(base, p)));
  }
  return out;
}

/**
 * An oracle independent of bake's resolver: walks a link target on the real file system,
 * component by component, following links as the kernel would. Resolves to the real path
 * components it reaches, null when it leaves the tree, 'loop' for a link loop (which leads nowhere).
 */
async function walk(tree: string, start: string[], linkTarget: string, hops = 0): Promise<string[] | null | 'loop'> {
  if (hops > 40) return 'loop';
  if (linkTarget.startsWith('/')) return null;
  let stack = [...start];
  for (const part of linkTarget.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return null;
      stack.pop();
      continue;
    }
    const here = join(tree, ...stack, part);
    const info = await lstat(here).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      const next = await walk(tree, stack, await readlink(here), hops + 1);
      if (next === null || next === 'loop') return next;
      stack = next;
    } else stack.push(part);
  }
  return stack;
}

let run = 0;
async function check(entries: TreeEntry[], write: (entries: TreeEntry[], dir: string) => Promise<void>): Promise<void> {
  const base = join(root, `run-${run++}`);
  const tree = join(base, 'p', 'q', 'tree');
  await mkdir(join(base, 'outside'), { recursive: true });
  await mkdir(join(base, 'p', 'q'), { recursive: true });
  const concrete = entries.map((e) =>
    e.linkTarget?.startsWith(ABS) ? { ...e, linkTarget: e.linkTarget.replace(ABS, join(base, 'outside')) } : e,
  );
  const accepted = await write(concrete, tree).then(
    () => true,
    () => false,
  );
  const outsideTree = (await listAll(base)).filter((p) => !p.startsWith('p/q/tree'));
  expect(outsideTree, 'nothing may be written outside the tree').toEqual(['outside', 'p', 'p/q']);
  if (accepted) {
    for (const e of await listAll(tree)) {
      const info = await lstat(join(tree, e));
      if (!info.isSymbolicLink()) continue;
      const parent = e.split('/').slice(0, -1);
      expect(await walk(tree, parent, await readlink(join(tree, e))), `${e} must resolve inside the tree`).not.toBeNull();
    }
  }
  await rm(base, { recursive: true, force: true });
}

describe('no generated tree can create a file outside its directory', () => {
  it('materialize, after the safety check a snapshot makes', async () => {
    await fc.assert(
      fc.asyncProperty(trees, (entries) =>
        check(entries, async (concrete, dir) => {
          assertSafeEntries(concrete, { label: 'tree', links: 'contained' });
          await materialize(concrete, dir);
        }),
      ),
      { numRuns: 300 },
    );
  });

  it('materialize on its own, whatever the entries', async () => {
    // Without the check links may point anywhere, but writing still never passes through one.
    await fc.assert(
      fc.asyncProperty(trees, async (entries) => {
        const base = join(root, `raw-${run++}`);
        await mkdir(join(base, 'outside'), { recursive: true });
        await mkdir(join(base, 'p', 'q'), { recursive: true });
        const concrete = entries.map((e) =>
          e.linkTarget?.startsWith(ABS) ? { ...e, linkTarget: e.linkTarget.replace(ABS, join(base, 'outside')) } : e,
        );
        await materialize(concrete, join(base, 'p', 'q', 'tree')).catch(() => undefined);
        expect((await listAll(base)).filter((p) => !p.startsWith('p/q/tree'))).toEqual(['outside', 'p', 'p/q']);
        await rm(base, { recursive: true, force: true });
      }),
      { numRuns: 600 },
    );
  });

  it('readSafeTar, with the entries as a tar archive in the generated order', async () => {
    await fc.assert(
      fc.asyncProperty(trees, (entries) =>
        check(entries, async (concrete, dir) => {
          const members: Member[] = concrete.map((e) =>
            e.type === 'symlink'
              ? { name: e.path, type: 'symlink', linkname: e.linkTarget ?? '' }
              : e.type === 'directory'
                ? { name: `${e.path}/`, type: 'directory' }
                : { name: e.path, body: '!' },
          );
          await readSafeTar(Readable.from([hostileTar(members)]), dir, { label: 'upload' });
        }),
      ),
      { numRuns: 300 },
    );
  });
});
