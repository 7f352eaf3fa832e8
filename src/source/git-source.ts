import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { GitError } from '../errors.js';
import { readTar } from '../layer/tar.js';
import { run, runBuffer, SpawnError } from '../util/exec.js';
import type { TreeEntry } from './tree.js';

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
  /** Reads a directory's committed tree. Throws GitError naming `label` when nothing is committed. */
  readTree(pathInRepo: string, label: string): Promise<CommittedTree>;
}

/**
 * Opens the repository containing `dir` at its current HEAD. Returns undefined when `dir` is not
 * in a git work tree; throws GitError when it is but has no commit yet (or git is missing).
 */
export async function openGitRepo(dir: string, label: string): Promise<GitRepo | undefined> {
  let probe;
  try {
    probe = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
  } catch (error) {
    if (error instanceof SpawnError && error.code === 'ENOENT') return undefined; // no git: plain directories only
    throw error;
  }
  if (probe.exitCode !== 0) return undefined;
  const top = await realpath(probe.stdout.trim());
  const headRun = await run('git', ['-C', top, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (headRun.exitCode !== 0) {
    throw new GitError(`${label}: the repository at ${top} has no commits yet (commit the service first: git add … && git commit)`);
  }
  const head = headRun.stdout.trim();

  // One `git ls-tree` answers for every directory at once.
  async function treeIds(paths: readonly string[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const wanted = paths.filter((p) => p !== '');
    if (paths.includes('')) ids.set('', (await git(top, ['rev-parse', `${head}^{tree}`], 'cannot read HEAD')).trim());
    if (wanted.length === 0) return ids;
    const out = await git(top, ['ls-tree', '-z', head, '--', ...wanted], 'cannot list the committed tree');
    for (const record of out.split('\0')) {
      const match = /^\d+ tree ([0-9a-f]+)\t(.*)$/s.exec(record);
      if (match?.[1] && match[2] !== undefined) ids.set(match[2], match[1]);
    }
    return ids;
  }

  return {
    top,
    head,
    async pathOf(target) {
      const rel = relative(top, await realpath(target)).split(sep).join('/');
      return rel.startsWith('..') ? undefined : rel;
    },
    treeIds,
    async readTree(pathInRepo, label) {
      const shown = pathInRepo || '.';
      const tree = (await treeIds([pathInRepo])).get(pathInRepo);
      if (tree === undefined) {
        throw new GitError(`${label}: ${shown} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${shown} && git commit)`);
      }
      const logArgs = ['log', '-1', '--format=%H%x00%ct%x00%an <%ae>', head];
      if (pathInRepo !== '') logArgs.push('--', pathInRepo);
      const [revision, time, author] = (await git(top, logArgs, `${label}: cannot read the history of ${shown}`)).trim().split('\0');
      // Archive by tree id so the content and the recorded tree id can never disagree; force the
      // umask so a user's tar.umask cannot change the modes.
      const archive = await runBuffer('git', ['-c', 'tar.umask=0022', '-C', top, 'archive', '--format=tar', tree]);
      if (archive.exitCode !== 0) throw new GitError(`${label}: git archive of ${shown} failed: ${archive.stderr.trim()}`);
      const entries = await readTar(archive.stdout, `${label} (${shown} at ${(revision ?? head).slice(0, 12)})`);
      if (!entries.some((e) => e.type === 'file')) {
        throw new GitError(`${label}: ${shown} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${shown} && git commit)`);
      }
      return { entries, revision: revision ?? head, head, tree, commitTime: Number(time), author: author ?? '', pathInRepo };
    },
  };
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
