import { realpath } from 'node:fs/promises';
import { posix, relative, resolve, sep } from 'node:path';
import { GitError } from '../util/errors.js';
import { run, SpawnError } from '../util/exec.js';

/** What one look at a repository found: its top, HEAD, and the tree ids asked for. */
export interface RepoProbe {
  /** The work tree's top directory, real path. */
  top: string;
  /** HEAD's commit id. */
  head: string;
  /** Tree ids at HEAD by POSIX path inside the repository, for the directories asked about. */
  trees: Map<string, string>;
}

/**
 * Finds the repository holding `dir`, its HEAD, and — in the same `git rev-parse` — the HEAD tree
 * of each of `trees` (directories relative to `dir`, as bake.yaml writes them): a nothing-changed
 * `build --commit` needs just this one spawn of git (each forks the whole Node process). A
 * directory git has no tree for (not committed, a file, a submodule, reached through a symlink)
 * makes that call fail as a whole; the probe is then made without them, and the caller asks
 * `git ls-tree`, which tells which one. Directories written with `..` or absolute are not asked
 * here. Returns undefined when `dir` is not in a git work tree (or git is not installed); throws
 * GitError when it is but has no commit yet.
 */
export async function probeRepo(dir: string, label: string, trees: readonly string[] = []): Promise<RepoProbe | undefined> {
  const asked = [...new Set(trees.map(normalize).filter((p): p is string => p !== undefined))];
  let probe;
  try {
    probe = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel', 'HEAD^{commit}', ...asked.map((p) => `HEAD:./${p}`)]);
  } catch (error) {
    if (error instanceof SpawnError && error.code === 'ENOENT') return undefined; // no git: plain directories only
    throw error;
  }
  const [shownTop, shownHead, ...ids] = probe.stdout.split('\n');
  if (probe.exitCode === 0 && shownTop && shownHead && /^[0-9a-f]{40,64}$/.test(shownHead)) {
    const top = await realpath(shownTop);
    const found = new Map<string, string>();
    if (asked.length > 0 && asked.every((_, i) => /^[0-9a-f]{40,64}$/.test(ids[i] ?? ''))) {
      const real = await realpath(dir);
      for (const [i, p] of asked.entries()) found.set(relative(top, resolve(real, p)).split(sep).join('/'), ids[i] as string);
    }
    return { top, head: shownHead, trees: found };
  }
  if (asked.length > 0) return probeRepo(dir, label);
  // Not a work tree, or no commit yet: asked one at a time, to tell the two apart.
  const topRun = await run('git', ['-C', dir, 'rev-parse', '--show-toplevel']);
  if (topRun.exitCode !== 0) return undefined;
  const top = await realpath(topRun.stdout.trim());
  const headRun = await run('git', ['-C', top, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (headRun.exitCode !== 0) {
    throw new GitError(`${label}: the repository at ${top} has no commits yet (commit the service first: git add … && git commit)`);
  }
  return { top, head: headRun.stdout.trim(), trees: new Map() };
}

/**
 * `dir` as a `HEAD:./…/` path: POSIX, normalized, with the trailing slash that makes git answer
 * only for a tree (`''` for `dir` itself). Undefined for what is not asked here.
 */
function normalize(written: string): string | undefined {
  if (written.startsWith('/') || written.includes('\\')) return undefined;
  const path = posix.normalize(written).replace(/\/+$/, '');
  if (path === '.' || path === '') return '';
  if (path === '..' || path.startsWith('../') || /[\n\0]/.test(path)) return undefined;
  return `${path}/`;
}
