import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { GitError, UnsafeSourceError } from '../util/errors.js';
import { BatchCommandUnsupportedError, blobReader, readWhole, type BlobReader } from './git-blobs.js';
import { lastCommits, type LastCommit } from './git-last-commits.js';
import { lastCommitOf, listTree, type Listed } from './git-objects.js';
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
   * Reads the committed trees of several directories at once: a few through one `git cat-file
   * --batch-command`, many with one ls-tree, one history walk and one or two cat-file (see
   * readListings). File contents are not read here: each file entry streams its blob when opened.
   * Throws GitError naming the service when a directory has nothing committed, UnsafeSourceError
   * for a submodule inside it.
   */
  readTrees(dirs: readonly { path: string; label: string }[]): Promise<Map<string, CommittedTree>>;
  /**
   * The same trees, each as soon as it is read: a cold commit of a monorepo packs its first
   * services while `git ls-tree` still lists the others (listing 2,200 loose objects' sizes took
   * 50 ms or more). Every promise settles; a failure rejects the trees not read yet.
   */
  streamTrees(dirs: readonly { path: string; label: string }[]): Map<string, Promise<CommittedTree>>;
  /**
   * Whether `revision` is known, from what was read already (HEAD, and every commit the history
   * walks of readTrees and streamTrees met), to be HEAD or one of its ancestors. False means only "not known":
   * ask git (src/history/ancestry.ts).
   */
  knownAncestor(revision: string): boolean;
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

  // Commits known to be HEAD or its ancestors: what the history walks read.
  const ancestors = new Set<string>([head]);

  // One `git ls-tree` answers for every directory at once; HEAD is fixed, so answers are kept.
  const knownIds = new Map<string, string | undefined>(probe.trees);
  async function treeIds(paths: readonly string[]): Promise<Map<string, string>> {
    const unknown = [...new Set(paths)].filter((p) => !knownIds.has(p));
    const wanted = unknown.filter((p) => p !== '');
    if (unknown.includes('')) knownIds.set('', (await git(top, ['rev-parse', `${head}^{tree}`], 'cannot read HEAD')).trim());
    // ls-tree lists a directory's children, not the directory, when a path below it is asked in
    // the same call (`d` with `d/e`): nested directories are asked in calls of their own.
    for (let left = wanted; left.length > 0; ) {
      const inner = left.filter((p) => !left.some((q) => q !== p && q.startsWith(`${p}/`)));
      const out = await git(top, ['ls-tree', '-z', head, '--', ...inner], 'cannot list the committed tree');
      for (const p of inner) knownIds.set(p, undefined);
      for (const record of out.split('\0')) {
        const match = /^\d+ tree ([0-9a-f]+)\t(.*)$/s.exec(record);
        if (match?.[1] && match[2] !== undefined && inner.includes(match[2])) knownIds.set(match[2], match[1]);
      }
      left = left.filter((p) => !inner.includes(p));
    }
    const ids = new Map<string, string>();
    for (const p of paths) {
      const id = knownIds.get(p);
      if (id !== undefined) ids.set(p, id);
    }
    return ids;
  }

  /**
   * Every file and directory under the given directories, with modes, blob ids and sizes, from one
   * `git ls-tree -r` read as it streams: `onDir` gets each directory's entries once its listing is
   * complete (ls-tree walks the tree depth first, so a directory is done when a path outside it
   * comes), `onBytes` the bytes listed so far.
   */
  function listFiles(
    paths: readonly string[],
    onDir: (path: string, files: Listed[]) => void,
    onBytes: (bytes: number) => void,
  ): Promise<void> {
    const wanted = new Set(paths);
    const files = new Map<string, Listed[]>(paths.map((p) => [p, []]));
    const done = new Set<string>();
    const complete = (dir: string) => {
      if (done.has(dir)) return;
      done.add(dir);
      onDir(dir, files.get(dir) ?? []);
    };
    // The wanted directories the last record was in, outermost first.
    const open: string[] = [];
    let bytes = 0;
    const take = (record: string) => {
      const match = /^(\d+) (blob|tree|commit) ([0-9a-f]+) +(-|\d+)\t(.*)$/s.exec(record);
      if (!match) return;
      const [, mode = '', type, oid = '', size = '-', path = ''] = match;
      const file: Listed = { mode, type: type as Listed['type'], oid, size: size === '-' ? 0 : Number(size), path };
      for (let last = open.at(-1); last !== undefined && last !== '' && !path.startsWith(`${last}/`); last = open.at(-1)) {
        open.pop();
        complete(last);
      }
      // Each listed path under the directories that contain it (a lookup per level of the path,
      // not a pass over the whole listing per directory: a monorepo has 200 of them).
      const within: string[] = [];
      for (let dir = parentOf(path); ; dir = parentOf(dir)) {
        if (wanted.has(dir)) within.unshift(dir);
        if (dir === '') break;
      }
      for (const dir of within) {
        files.get(dir)?.push(file);
        if (!open.includes(dir)) open.push(dir);
      }
      bytes += file.size;
      onBytes(bytes);
    };
    return new Promise((resolve, reject) => {
      const args = ['--literal-pathspecs', '-C', top, 'ls-tree', '-r', '-t', '-l', '-z', head, '--', ...paths.filter((p) => p !== '')];
      const child = spawn('git', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        text += chunk;
        const records = text.split('\0');
        text = records.pop() ?? '';
        for (const record of records) take(record);
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', (error) =>
        reject(new GitError('cannot list the committed tree: git could not be run (install git)', { cause: error })),
      );
      child.once('close', (code) => {
        if (code !== 0) return reject(new GitError(`cannot list the committed tree${stderr.trim() ? ` (git: ${stderr.trim()})` : ''}`));
        if (text !== '') take(text);
        // What is still open is complete now, as is a directory nothing was listed under.
        for (const path of paths) complete(path);
        resolve();
      });
    });
  }

  /**
   * Each directory's files (modes, ids, sizes) and last commit, handed to `ready` with the reader
   * their bodies come from as soon as both are known. A few directories (a change) are read
   * through one `git cat-file --batch-command` (git-objects.ts), which then streams the bodies
   * too: one spawn instead of three. Many (a cold commit) are listed by one streaming `git
   * ls-tree` beside one history walk, two git processes at once, and read by one `git cat-file`,
   * or two once more than TWO_PROCESSES_BYTES are listed.
   */
  async function readListings(
    dirs: readonly { path: string }[],
    trees: ReadonlyMap<string, string>,
    ready: (path: string, files: Listed[], origin: LastCommit | undefined, reader: BlobReader) => Promise<void>,
  ): Promise<void> {
    if (dirs.length <= FEW_DIRS && !batchCommandMissing) {
      const reader = blobReader(top, { processes: 1, command: true });
      let read;
      try {
        read = await Promise.all([
          Promise.all(dirs.map((d) => listTree(reader, trees.get(d.path) ?? '', d.path))),
          Promise.all(dirs.map((d) => lastCommitOf(reader, head, d.path, trees.get(d.path) ?? '', ancestors))),
        ]);
      } catch (error) {
        if (!(error instanceof BatchCommandUnsupportedError)) throw error;
        batchCommandMissing = true;
      }
      if (read) {
        const [listings, walked] = read;
        // A history the walk left open (long, shallow, re-encoded) is git log's to answer.
        const open = dirs.filter((_, i) => !walked[i]).map((d) => d.path);
        const logged = open.length > 0 ? await lastCommits(top, head, open, ancestors) : new Map<string, LastCommit>();
        // Much to read: two plain readers share it (see blobReader); the command reader idles out.
        const bytes = listings.flat().reduce((sum, f) => sum + f.size, 0);
        const bodies = bytes > TWO_PROCESSES_BYTES ? blobReader(top, { processes: 2 }) : reader;
        await Promise.all(dirs.map((d, i) => ready(d.path, listings[i] as Listed[], walked[i] ?? logged.get(d.path), bodies)));
        return;
      }
    }
    const paths = dirs.map((d) => d.path);
    const origins = lastCommits(top, head, paths, ancestors);
    origins.catch(() => undefined); // awaited by each directory below
    const reader = blobReader(top, { processes: 1 });
    const readying: Promise<void>[] = [];
    await listFiles(
      paths,
      (path, files) => readying.push(origins.then((found) => ready(path, files, found.get(path), reader))),
      (bytes) => {
        if (bytes > TWO_PROCESSES_BYTES) reader.widen(2);
      },
    );
    await Promise.all(readying);
  }

  /** A directory's committed tree from its listing: entries whose bodies stream from `reader` when opened. */
  async function committedTree(
    path: string,
    label: string,
    files: readonly Listed[],
    origin: LastCommit | undefined,
    tree: string,
    reader: BlobReader,
  ): Promise<CommittedTree> {
    // Symlink targets are needed now (the safety check reads them); file bodies stream later.
    const links = new Map<string, string>();
    await Promise.all(
      [...new Set(files.filter((f) => f.type === 'blob' && f.mode === '120000').map((f) => f.oid))].map(async (oid) => {
        links.set(oid, (await readWhole(reader.chunks(oid))).toString('utf8'));
      }),
    );
    const prefix = path === '' ? '' : `${path}/`;
    const entries: TreeEntry[] = [];
    for (const file of files) {
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
          blob: oid,
          open: () => reader.open(oid),
          chunks: () => reader.chunks(oid),
          copyInto: (target, offset, size) => reader.copyInto(oid, target, offset, size),
          read: () => readWhole(reader.chunks(oid)),
        });
      }
    }
    const { revision, time, author } = origin ?? { revision: head, time: 0, author: '' };
    return { entries, revision, head, tree, commitTime: time, author, pathInRepo: path };
  }

  function streamTrees(dirs: readonly { path: string; label: string }[]): Map<string, Promise<CommittedTree>> {
    const settle = new Map<string, { resolve: (tree: CommittedTree) => void; reject: (error: unknown) => void }>();
    const promised = new Map<string, Promise<CommittedTree>>();
    for (const { path } of dirs) {
      const tree = new Promise<CommittedTree>((resolve, reject) => settle.set(path, { resolve, reject }));
      tree.catch(() => undefined); // a caller that stopped at another failure must not leave it unhandled
      promised.set(path, tree);
    }
    const labels = new Map(dirs.map((d) => [d.path, d.label]));
    (async () => {
      const trees = await treeIds(dirs.map((d) => d.path));
      for (const { path, label } of dirs) {
        if (!trees.has(path)) {
          throw new GitError(
            `${label}: ${path || '.'} has no committed files at HEAD ${head.slice(0, 12)} (commit it first: git add ${path || '.'} && git commit)`,
          );
        }
      }
      await readListings(dirs, trees, async (path, files, origin, reader) => {
        settle.get(path)?.resolve(await committedTree(path, labels.get(path) ?? path, files, origin, trees.get(path) ?? '', reader));
      });
    })().catch((error: unknown) => {
      for (const { reject } of settle.values()) reject(error);
    });
    return promised;
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
    knownAncestor: (revision) => ancestors.has(revision),
    async readTrees(dirs) {
      const streamed = streamTrees(dirs);
      const result = new Map<string, CommittedTree>();
      for (const [path, tree] of streamed) result.set(path, await tree);
      return result;
    },
    streamTrees,
  };
}

/** Above this many bytes to read, blobs are read by two git processes. */
const TWO_PROCESSES_BYTES = 16 * 1024 * 1024;

/** Up to this many directories are read through `git cat-file --batch-command` alone (see readListings). */
const FEW_DIRS = 4;

/** Set once this git turned out to be older than `git cat-file --batch-command` (2.36): then ls-tree and log. */
let batchCommandMissing = false;

/** The directory holding a repository path ('' for the root's children and for the root itself). */
function parentOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

async function git(cwd: string, args: string[], failure: string): Promise<string> {
  let result;
  try {
    // Paths are names, never patterns: a directory called `svc[1]` is that directory alone.
    result = await run('git', ['--literal-pathspecs', '-C', cwd, ...args]);
  } catch (error) {
    throw new GitError(`${failure}: git could not be run (install git)`, { cause: error });
  }
  if (result.exitCode !== 0) throw new GitError(`${failure}${result.stderr.trim() ? ` (git: ${result.stderr.trim()})` : ''}`);
  return result.stdout;
}
