import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { GitError } from '../errors.js';
import { readTar } from '../layer/tar.js';
import { run, runBuffer } from '../util/exec.js';
import type { TreeEntry } from './tree.js';

/** A snapshot of a directory as committed at HEAD: uncommitted edits are not part of it. */
export interface CommittedTree {
  entries: TreeEntry[];
  /** The last commit that touched the directory: the revision this content comes from. */
  revision: string;
  /** HEAD when the snapshot was taken. */
  head: string;
  /** Commit time (seconds) of `revision`: the bake clock's fallback. */
  commitTime: number;
  /** The git tree id of the directory: equal ids, equal content. */
  tree: string;
  /** `Name <email>` of `revision`'s author. */
  author: string;
  /** Path of the directory inside the repository, POSIX, '' for the root. */
  pathInRepo: string;
}

/** Answers whether `dir` is inside a git work tree. Never throws. */
export async function isInsideGitRepo(dir: string): Promise<boolean> {
  try {
    const result = await run('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree']);
    return result.exitCode === 0 && result.stdout.trim() === 'true';
  } catch {
    return false;
  }
}

/**
 * Reads the committed tree of `dir` at HEAD with `git archive`. Throws GitError when git is
 * missing, the directory is not in a repository, the repository has no commit, or the directory
 * has no committed files; `label` names the service in those messages.
 */
export async function readCommittedTree(dir: string, label: string): Promise<CommittedTree> {
  const top = (await git(dir, ['rev-parse', '--show-toplevel'], `${label}: ${dir} is not inside a git repository`)).trim();
  const pathInRepo = relative(await realpath(top), await realpath(dir)).split(sep).join('/');
  const head = (await git(top, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], `${label}: the repository at ${top} has no commits yet (commit the service first: git add ${pathInRepo || '.'} && git commit)`)).trim();
  const logArgs = ['log', '-1', '--format=%H%x00%ct%x00%an <%ae>', 'HEAD'];
  if (pathInRepo !== '') logArgs.push('--', pathInRepo);
  const [revision, time, author] = (await git(top, logArgs, `${label}: cannot read the history of ${pathInRepo}`)).trim().split('\0');
  if (!revision || !time) {
    throw new GitError(`${label}: ${pathInRepo || '.'} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${pathInRepo} && git commit)`);
  }
  // Archive the tree by id so the content and the recorded tree id can never disagree.
  const treeish = (await git(top, ['rev-parse', '--verify', `HEAD:${pathInRepo}`], `${label}: cannot resolve ${pathInRepo} at HEAD`)).trim();
  const archive = await runBuffer('git', ['-c', 'tar.umask=0022', '-C', top, 'archive', '--format=tar', treeish]);
  if (archive.exitCode !== 0) {
    throw new GitError(`${label}: git archive ${treeish} failed: ${archive.stderr.trim()}`);
  }
  const entries = await readTar(archive.stdout, `${label} (${pathInRepo} at ${revision.slice(0, 12)})`);
  if (!entries.some((e) => e.type === 'file')) {
    throw new GitError(`${label}: ${pathInRepo || '.'} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${pathInRepo} && git commit)`);
  }
  return { entries, revision, head, tree: treeish, commitTime: Number(time), author: author ?? '', pathInRepo };
}

/**
 * The git tree id of `dir` at HEAD, without reading any file: equal ids mean identical committed
 * content, so an unchanged service is recognised in one cheap git call. Undefined when `dir` is
 * not in a repository or has nothing committed.
 */
export async function committedTreeId(dir: string): Promise<string | undefined> {
  try {
    const top = (await git(dir, ['rev-parse', '--show-toplevel'], 'not a repository')).trim();
    const pathInRepo = relative(await realpath(top), await realpath(dir)).split(sep).join('/');
    const result = await run('git', ['-C', top, 'rev-parse', '--verify', '--quiet', `HEAD:${pathInRepo}`]);
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  } catch {
    return undefined;
  }
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
