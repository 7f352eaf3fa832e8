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
  if (asked.length > MANY_TREES) {
    const listed = await probeListing(dir, label, asked);
    if (listed !== 'ask again') return listed;
  }
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

/**
 * Above this many directories, `git rev-parse` is no longer the cheap way: it resolves each
 * `HEAD:./dir/` from the root tree down, reading the same trees again for every one (200 services
 * of a monorepo: 40 to 70 ms), where one `git ls-tree` reads each tree once (under 10 ms).
 */
const MANY_TREES = 32;

/**
 * The probe for many directories, still one spawn: a shell runs `git rev-parse` for the top and
 * HEAD, then `git ls-tree` of HEAD's commit for the directories (literal paths, named from the
 * repository's top). A directory below another one asked is not asked here (ls-tree would list the
 * outer one's children instead of it), nor the workspace itself: those are left to treeIds, as is
 * any that is not a committed tree. 'ask again' when this way cannot tell (no shell): probeRepo's
 * own way then answers, and tells the errors apart.
 */
async function probeListing(dir: string, label: string, asked: readonly string[]): Promise<RepoProbe | undefined | 'ask again'> {
  const inner = asked.map((p) => p.replace(/\/$/, '')).filter((p, _, all) => p !== '' && !all.some((q) => q.startsWith(`${p}/`)));
  let result;
  try {
    result = await run('sh', ['-c', LISTING_SCRIPT, 'sh', ...inner], { cwd: dir });
  } catch {
    return 'ask again';
  }
  if (result.exitCode === 3) return undefined; // not in a work tree, or no git
  if (result.exitCode === 4) return noCommitYet(dir, label);
  if (result.exitCode !== 0) return 'ask again';
  const [head = '', shownTop = '', ...rest] = result.stdout.split('\n');
  if (!/^[0-9a-f]{40,64}$/.test(head) || shownTop === '') return 'ask again';
  const top = await realpath(shownTop);
  const found = new Map<string, string>();
  for (const record of rest.join('\n').split('\0')) {
    const match = /^\d+ tree ([0-9a-f]+)\t(.*)$/s.exec(record);
    if (match?.[1] && match[2] !== undefined) found.set(match[2], match[1]);
  }
  // Only the directories asked for, keyed by path in the repository.
  const real = await realpath(dir);
  const trees = new Map<string, string>();
  for (const p of inner) {
    const key = relative(top, resolve(real, p)).split(sep).join('/');
    const id = found.get(key);
    if (id !== undefined) trees.set(key, id);
  }
  return { top, head, trees };
}

/**
 * Exit 3: no work tree (or no git); 4: no commit yet; then HEAD, the top, and ls-tree's records.
 * One `git rev-parse` answers both the top and HEAD (a git process less on every command: 1 to 3 ms
 * here): it prints the top, then HEAD's commit, or fails after the top when there is no commit.
 */
const LISTING_SCRIPT = `nl='
'
out=$(git rev-parse --show-toplevel 'HEAD^{commit}' 2>/dev/null)
ok=$?
top=\${out%%"$nl"*}
[ -n "$top" ] || exit 3
[ "$ok" = 0 ] || exit 4
head=\${out#*"$nl"}
case $head in *[!0-9a-f]*|'') exit 4 ;; esac
printf '%s\\n%s\\n' "$head" "$top"
exec git --literal-pathspecs ls-tree --full-name -z "$head" -- "$@"`;

async function noCommitYet(dir: string, label: string): Promise<never> {
  const top = await realpath((await run('git', ['-C', dir, 'rev-parse', '--show-toplevel'])).stdout.trim());
  throw new GitError(`${label}: the repository at ${top} has no commits yet (commit the service first: git add … && git commit)`);
}
