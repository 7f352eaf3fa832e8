import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { GitError, UnsafeSourceError } from '../util/errors.js';
import { blobReader, readWhole } from './git-blobs.js';
import { lastCommits } from './git-last-commits.js';
import { run } from '../util/exec.js';
import { probeRepo } from './git-probe.js';
import type { TreeEntry } from '../tree/tree.js';

/** A snapshot of a directory as committed at HEAD: uncommitted edits are not part of it. */
export interface CommittedTree {
  entries: TreeEntry[];
  /** The last commit that touched the directory: the revision this content comes from. */
  revision: string;
  /** HEAD when the snapshot was taken. */
  head: string;
  /** The git tree id of the directory: equal ids, equal content. */
  tree: string;
  /** Commit time (seconds) of `revision`: the bake clock's fallback. */
  commitTime: number;
  /** `Name <email>` of `revision`'s author. */
  author: string;
  /** Path of the directory inside the repository, POSIX, '' for the root. */
  pathInRepo: string;
}

/**
 * A git repository as bake reads it: HEAD once, tree ids of many directories in one call, and
 * snapshots by tree id. Spawning git dominates a commit's cost, so calls are batched.
 */
export interface GitRepo {
  top: string;
  head: string;
  /** The directory's path inside the repository, or undefined if it lies outside it. */
  pathOf(dir: string): Promise<string | undefined>;
  /** Tree ids at HEAD for directories (by path in the repository); missing ones are absent. */
  treeIds(paths: readonly string[]): Promise<Map<string, string>>;
  /**
   * Reads the committed trees of several directories at once (one ls-tree, one history walk, one
   * cat-file). File contents are not read here: each file entry streams its blob when opened.
   * Throws GitError naming the service when a directory has nothing committed, UnsafeSourceError
   * for a submodule inside it.
   */
  readTrees(dirs: readonly { path: string; label: string }[]): Promise<Map<string, CommittedTree>>;
}

/**
 * Opens the repository containing `dir` at its current HEAD. `trees`: directories relative to
 * `dir` (as bake.yaml writes sources) whose tree ids are fetched in the same git call (see
 * probeRepo), so treeIds() answers them without another. Returns undefined when `dir` is not in a
 * git work tree; throws GitError when it is but has no commit yet (or git is missing).
 */
export async function openGitRepo(dir: string, label: string, options: { trees?: readonly string[] } = {}): Promise<GitRepo | undefined> {
  const probe = await probeRepo(dir, label, options.trees);
  if (!probe) return undefined;
  const { top, head } = probe;

  // One `git ls-tree` answers for every directory at once; HEAD is fixed, so answers are kept.
  const knownIds = new Map<string, string | undefined>(probe.trees);
  async function treeIds(paths: readonly string[]): Promise<Map<string, string>> {
    const unknown = [...new Set(paths)].filter((p) => !knownIds.has(p));
    const wanted = unknown.filter((p) => p !== '');
    if (unknown.includes('')) knownIds.set('', (await git(top, ['rev-parse', `${head}^{tree}`], 'cannot read HEAD')).trim());
    if (wanted.length > 0) {
      const out = await git(top, ['ls-tree', '-z', head, '--', ...wanted], 'cannot list the committed tree');
      for (const p of wanted) knownIds.set(p, undefined);
      for (const record of out.split('\0')) {
        const match = /^\d+ tree ([0-9a-f]+)\t(.*)$/s.exec(record);
        if (match?.[1] && match[2] !== undefined) knownIds.set(match[2], match[1]);
      }
    }
    const ids = new Map<string, string>();
    for (const p of paths) {
      const id = knownIds.get(p);
      if (id !== undefined) ids.set(p, id);
    }
    return ids;
  }

  // Every file and directory under the given directories, with modes and blob ids.
  async function listFiles(paths: readonly string[]): Promise<Listed[]> {
    const out = await git(
      top,
      ['ls-tree', '-r', '-t', '-l', '-z', head, '--', ...paths.filter((p) => p !== '')],
      'cannot list the committed tree',
    );
    const listed: Listed[] = [];
    for (const record of out.split('\0')) {
      const match = /^(\d+) (blob|tree|commit) ([0-9a-f]+) +(-|\d+)\t(.*)$/s.exec(record);
      if (match) {
        const [, mode = '', type, oid = '', size = '-', path = ''] = match;
        listed.push({ mode, type: type as Listed['type'], oid, size: size === '-' ? 0 : Number(size), path });
      }
    }
    return listed;
  }

  return {
    top,
    head,
    async pathOf(target) {
      const rel = relative(top, await realpath(target))
        .split(sep)
        .join('/');
      return rel.startsWith('..') ? undefined : rel;
    },
    treeIds,
    async readTrees(dirs) {
      const trees = await treeIds(dirs.map((d) => d.path));
      for (const { path, label } of dirs) {
        if (!trees.has(path)) {
          throw new GitError(
            `${label}: ${path || '.'} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${path || '.'} && git commit)`,
          );
        }
      }
      // The commit that last touched each directory (its time is the clock, its id the revision) and
      // the files: two git processes at once, one walking history while the other lists the tree.
      const [origins, listing] = await Promise.all([
        lastCommits(
          top,
          head,
          dirs.map((d) => d.path),
        ),
        listFiles(dirs.map((d) => d.path)),
      ]);
      // Symlink targets are needed now (the safety check reads them); file bodies stream later.
      // One git process for a few megabytes (a one-file change), two for a cold bake's hundreds.
      const bytes = listing.reduce((sum, f) => sum + f.size, 0);
      const reader = blobReader(top, { processes: bytes > TWO_PROCESSES_BYTES ? 2 : 1 });
      const links = new Map<string, string>();
      await Promise.all(
        [...new Set(listing.filter((f) => f.type === 'blob' && f.mode === '120000').map((f) => f.oid))].map(async (oid) => {
          links.set(oid, (await readWhole(reader.chunks(oid))).toString('utf8'));
        }),
      );
      // Each listed path under the directories that contain it (a lookup per level of the path,
      // not a pass over the whole listing per directory: a monorepo has 200 of them).
      const wanted = new Set(dirs.map((d) => d.path));
      const under = new Map<string, Listed[]>();
      for (const file of listing) {
        for (let dir = parentOf(file.path); ; dir = parentOf(dir)) {
          if (wanted.has(dir)) {
            const files = under.get(dir);
            if (files) files.push(file);
            else under.set(dir, [file]);
          }
          if (dir === '') break;
        }
      }
      const result = new Map<string, CommittedTree>();
      for (const { path, label } of dirs) {
        const prefix = path === '' ? '' : `${path}/`;
        const entries: TreeEntry[] = [];
        for (const file of under.get(path) ?? []) {
          const rel = file.path.slice(prefix.length);
          if (file.type === 'tree') entries.push({ path: rel, type: 'directory', mode: 0o755, size: 0 });
          else if (file.type === 'commit') {
            throw new UnsafeSourceError(
              `${label}: ${file.path} is a git submodule; its files are not part of this repository's tree (vendor them, or make it a service of its own)`,
              rel,
            );
          } else if (file.mode === '120000') {
            entries.push({ path: rel, type: 'symlink', mode: 0o777, size: 0, linkTarget: links.get(file.oid) ?? '' });
          } else {
            const oid = file.oid;
            entries.push({
              path: rel,
              type: 'file',
              mode: file.mode === '100755' ? 0o755 : 0o644,
              size: file.size,
              open: () => reader.open(oid),
              chunks: () => reader.chunks(oid),
              read: () => readWhole(reader.chunks(oid)),
            });
          }
        }
        const origin = origins.get(path) ?? { revision: head, time: 0, author: '' };
        result.set(path, {
          entries,
          revision: origin.revision,
          head,
          tree: trees.get(path) ?? '',
          commitTime: origin.time,
          author: origin.author,
          pathInRepo: path,
        });
      }
      return result;
    },
  };
}

/** Above this many bytes to read, blobs are read by two git processes. */
const TWO_PROCESSES_BYTES = 16 * 1024 * 1024;

/** The directory holding a repository path ('' for the root's children and for the root itself). */
function parentOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

/** One entry of `git ls-tree -r -t -l`. */
interface Listed {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  /** Blob size in bytes; 0 for trees and submodules. */
  size: number;
  path: string;
}

async function git(cwd: string, args: string[], failure: string): Promise<string> {
  let result;
  try {
    result = await run('git', ['-C', cwd, ...args]);
  } catch (error) {
    throw new GitError(`${failure}: git could not be run (install git)`, { cause: error });
  }
  if (result.exitCode !== 0) throw new GitError(`${failure}${result.stderr.trim() ? ` (git: ${result.stderr.trim()})` : ''}`);
  return result.stdout;
}
