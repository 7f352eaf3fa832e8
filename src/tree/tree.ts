import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';

/** What a file tree is made of. Special files (devices, fifos, sockets) never get this far. */
export type EntryType = 'file' | 'directory' | 'symlink';

/**
 * One entry of a file tree, independent of where it came from (git, a directory, a tarball).
 * `read` is lazy so a directory walk does not hold every file in memory.
 */
export interface TreeEntry {
  /** Relative POSIX path: no leading `/` or `./`, no trailing `/`, no `..` component. */
  path: string;
  type: EntryType;
  /** Permission bits only (0o7777). */
  mode: number;
  /** Byte size for files, 0 otherwise. */
  size: number;
  /** Symlink target, exactly as stored. */
  linkTarget?: string;
  /**
   * The git object id of a file's contents, when the source is git: equal ids, equal bytes (a
   * later layer copies an unchanged body from an earlier one: src/layer/layer-bodies.ts).
   */
  blob?: string;
  /** File contents. Present for files only. */
  read?: () => Promise<Buffer>;
  /**
   * The same contents as a stream, when the source can give them without holding the file in
   * memory (git blobs); writers prefer it to `read`. Read it to the end or destroy it.
   */
  open?: () => Readable;
  /**
   * The same contents again, as a lean chunk source (git blobs): what the tar writer prefers, a
   * Readable per file being most of what packing a tree of small files cost.
   */
  chunks?: () => BodyChunks;
  /**
   * The same contents again, copied by the source straight into `target` at `offset` (git blobs):
   * for a layer made in memory, whose length is known before any body arrives. Copies at most
   * `size` bytes and resolves with the contents' full length, which the caller checks.
   */
  copyInto?: (target: Buffer, offset: number, size: number) => Promise<number>;
}

/** A body being read, once, in order: its chunks; `cancel()` gives up on the rest (a body opened ahead and not read). */
export interface BodyChunks extends AsyncIterable<Buffer> {
  cancel(): void;
}

/** Sorts entries by path, bytewise, so a parent always precedes its children. */
export function sortEntries(entries: readonly TreeEntry[]): TreeEntry[] {
  // Each path's bytes once, not twice per comparison (a monorepo's 2,400 entries were 50,000 buffers).
  const keyed = entries.map((entry) => ({ entry, key: Buffer.from(entry.path) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.entry);
}

/**
 * A digest of what a tree *contains* (paths, types, modes, bytes, link targets), independent of
 * times and of how it is packed. Two snapshots with equal content digests are the same version.
 */
export async function contentDigest(entries: readonly TreeEntry[], salt: string): Promise<Digest> {
  const hash = createHash('sha256');
  hash.update(`bake-tree-v1\0${salt}\0`);
  for (const entry of sortEntries(entries)) {
    let body = '';
    if (entry.type === 'file' && entry.read) {
      body = createHash('sha256')
        .update(await entry.read())
        .digest('hex');
    } else if (entry.type === 'symlink') {
      body = entry.linkTarget ?? '';
    }
    hash.update(`${entry.type}\0${entry.mode.toString(8)}\0${entry.path}\0${body}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}
