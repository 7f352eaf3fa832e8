import { GitError } from '../util/errors.js';
import type { BlobReader } from './git-blobs.js';
import type { LastCommit } from './git-last-commits.js';

/**
 * Reading a few directories' trees and history through the `git cat-file --batch-command`
 * process that streams their files anyway, instead of a `git ls-tree` and a `git log` of their
 * own: after a one-file change those two spawns (each forks the whole Node process, 5 to 8 ms at
 * bake's size) were most of what reading the changed service cost. What these answer is what
 * `git ls-tree -r -t -l` and `git log -1 -- PATH` answer; whatever they cannot answer so (a long
 * or re-encoded history, a shallow clone's cut-off) is left to those commands.
 */

/** One entry of a directory's tree, listed recursively: what `git ls-tree -r -t -l` prints. */
export interface Listed {
  /** Six octal digits, as ls-tree prints them (`040000` for a tree). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  /** Blob size in bytes; 0 for trees and submodules. */
  size: number;
  /** Path inside the repository. */
  path: string;
}

/** Every entry under the tree `tree` (at `path` in the repository), subtrees first read level by level, with blob sizes. */
export async function listTree(reader: BlobReader, tree: string, path: string): Promise<Listed[]> {
  const listed: Listed[] = [];
  let level = [{ oid: tree, path }];
  while (level.length > 0) {
    const bodies = await Promise.all(level.map((t) => readTree(reader, t.oid)));
    const next: { oid: string; path: string }[] = [];
    bodies.forEach((entries, i) => {
      const dir = (level[i] as { path: string }).path;
      for (const e of entries) {
        const full = dir === '' ? e.name : `${dir}/${e.name}`;
        const type = e.mode === '040000' ? 'tree' : e.mode === '160000' ? 'commit' : 'blob';
        listed.push({ mode: e.mode, type, oid: e.oid, size: 0, path: full });
        if (type === 'tree') next.push({ oid: e.oid, path: full });
      }
    });
    level = next;
  }
  // Sizes of the files (not of symlinks, whose targets are read whole anyway), asked all at once.
  const files = listed.filter((e) => e.type === 'blob' && e.mode !== '120000');
  const sizes = await Promise.all(files.map((f) => reader.info(f.oid)));
  files.forEach((f, i) => {
    const info = sizes[i];
    if (!info) throw new GitError(`git cat-file: blob ${f.oid} (${f.path}) is missing from the repository`);
    f.size = info.size;
  });
  return listed;
}

/** The entries of one tree object: mode, name and object id each. */
async function readTree(reader: BlobReader, oid: string): Promise<{ mode: string; name: string; oid: string }[]> {
  const object = await reader.object(oid);
  if (object?.type !== 'tree') throw new GitError(`git cat-file: ${oid} is not a tree in this repository`);
  return parseTree(object.body, oid.length / 2);
}

/** `<mode> <name>\0<id>` records; ids are `idBytes` long (20 for SHA-1 repositories, 32 for SHA-256). */
export function parseTree(body: Buffer, idBytes: number): { mode: string; name: string; oid: string }[] {
  const entries: { mode: string; name: string; oid: string }[] = [];
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(32, at);
    const nul = body.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + idBytes > body.length) throw new GitError('git cat-file: a tree object ended mid-entry');
    entries.push({
      mode: body.toString('latin1', at, space).padStart(6, '0'),
      name: body.toString('utf8', space + 1, nul),
      oid: body.toString('hex', nul + 1, nul + 1 + idBytes),
    });
    at = nul + 1 + idBytes;
  }
  return entries;
}

/** What the history walk needs of a commit. */
interface Commit {
  tree: string;
  parents: string[];
  /** `Name <email>` as written (git log's `%an <%ae>`). */
  author: string;
  /** Committer time in seconds (`%ct`). */
  time: number;
  /** An `encoding` header: git log re-encodes the author, so such a commit is left to it. */
  encoded: boolean;
}

export function parseCommit(body: Buffer): Commit {
  const text = body.toString('utf8');
  const end = text.indexOf('\n\n');
  const commit: Commit = { tree: '', parents: [], author: '', time: 0, encoded: false };
  for (const line of (end < 0 ? text : text.slice(0, end)).split('\n')) {
    if (line.startsWith('tree ')) commit.tree = line.slice(5);
    else if (line.startsWith('parent ')) commit.parents.push(line.slice(7));
    else if (line.startsWith('author ')) commit.author = line.slice(7, line.lastIndexOf('>') + 1);
    else if (line.startsWith('committer '))
      commit.time = Number(
        line
          .slice(line.lastIndexOf('>') + 1)
          .trim()
          .split(' ')[0],
      );
    else if (line.startsWith('encoding ')) commit.encoded = true;
  }
  return commit;
}

/** Commits a walk looks at per directory before it leaves the question to `git log`. */
const WALK_BUDGET = 8;

/**
 * The last commit before `head` that touched `path` (whose tree at `head` is `tree`), as
 * `git log -1 head -- path` answers with its default history simplification: a commit is the
 * answer when the directory differs from its parent's (or it has none); at a merge, the walk
 * follows the first parent with the same directory, and a merge that differs from every parent is
 * the answer. Every commit read, and its parents, are added to `seen` (all are `head` or its
 * ancestors). Undefined when the walk is longer than its budget, meets a parent this repository
 * does not have (a shallow clone: git log knows where it was cut) or a re-encoded commit.
 */
export async function lastCommitOf(
  reader: BlobReader,
  head: string,
  path: string,
  tree: string,
  seen: Set<string>,
): Promise<LastCommit | undefined> {
  let current = head;
  for (let step = 0; step < WALK_BUDGET; step++) {
    const commit = await readCommit(reader, current);
    if (!commit || commit.encoded) return undefined;
    seen.add(current);
    for (const p of commit.parents) seen.add(p);
    const answer = { revision: current, time: commit.time, author: commit.author };
    // The root is touched by every commit: `git log -1 head` (no path) names head itself.
    if (commit.parents.length === 0 || path === '') return answer;
    const trees = await Promise.all(commit.parents.map((p) => treeAt(reader, p, path)));
    if (trees.some((t) => t === MISSING)) return undefined;
    const same = trees.indexOf(tree);
    if (same < 0) return answer;
    current = commit.parents[same] as string;
  }
  return undefined;
}

const MISSING = Symbol('missing');

async function readCommit(reader: BlobReader, oid: string): Promise<Commit | undefined> {
  const object = await reader.object(oid);
  return object?.type === 'commit' ? parseCommit(object.body) : undefined;
}

/** The tree id of `path` in commit `oid`: undefined when the path is no tree there, MISSING when the commit is not here. */
async function treeAt(reader: BlobReader, oid: string, path: string): Promise<string | undefined | typeof MISSING> {
  const commit = await readCommit(reader, oid);
  if (!commit) return MISSING;
  let tree = commit.tree;
  for (const name of path === '' ? [] : path.split('/')) {
    const entry = (await readTree(reader, tree)).find((e) => e.name === name);
    if (entry?.mode !== '040000') return undefined;
    tree = entry.oid;
  }
  return tree;
}
