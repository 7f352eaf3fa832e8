import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';
import type { Descriptor } from './media-types.js';

/**
 * An OCI image layout on disk (`oci-layout`, `index.json`, `blobs/sha256/…`): the embedded default
 * place images live. A blob appears under its digest only after its bytes were hashed, matched and
 * made durable (fdatasync), by rename from a temp file in the same directory, so a crash never
 * exposes a half-written blob.
 *
 * Durability of the names is batched. A rename becomes durable when its directory is fsynced, and
 * one fsync of `blobs/sha256` covers every rename made in it so far (by any process), so instead
 * of one fsync per blob (a monorepo commit wrote 200) the store fsyncs the directory once, in
 * `sync()`, before anything names the blobs. The order that makes a crash (power loss included)
 * safe at any instant:
 *   1. blob bytes → temp file → fdatasync → rename to its digest: whatever name exists after a
 *      crash has all its bytes, because they were on disk before the name was;
 *   2. `sync()`: one fsync of the blobs directory, so every name from 1 is on disk;
 *   3. only then a file naming the blobs is written (the version manifest by its own atomic
 *      write: temp, fsync, rename, fsync of .bake; index.json by `tag`, which calls `sync()`
 *      itself; the compressed-layer record). Its rename cannot reach the disk before 2 returned.
 * A crash before 3 leaves at worst blobs nobody names (gc removes them) and temp files, never a
 * name without its bytes or a manifest naming a blob that is not there. Callers that name a blob
 * anywhere but in index.json call `sync()` first.
 *
 * A workspace's store may also be backed by a blob registry (src/blobs/registry-backed-store.ts,
 * chosen by openLayoutStore): the same contract, where a put returns only once the registry holds
 * the blob too, and a blob missing from this disk is fetched (and verified) before it is read.
 */
export interface LayoutStore {
  readonly dir: string;
  /** Path of a blob's file (it may not exist). */
  blobPath(digest: Digest): string;
  /** Whether the blob is available here (a registry-backed store fetches it to say yes). */
  has(digest: Digest): Promise<boolean>;
  /** Writes bytes; returns the digest of exactly those bytes. */
  putBytes(bytes: Uint8Array | string): Promise<{ digest: Digest; size: number }>;
  /** Streams a blob in, hashing as it goes; verifies `expected` when given. */
  putStream(stream: Readable, expected?: Digest): Promise<{ digest: Digest; size: number }>;
  readBytes(digest: Digest): Promise<Buffer>;
  readJson<T>(digest: Digest): Promise<T>;
  openRead(digest: Digest): Readable;
  /** Adds (or moves) a manifest under a reference name in index.json. */
  tag(descriptor: Descriptor, refName: string): Promise<void>;
  /** Removes these reference names from index.json. */
  untag(refNames: ReadonlySet<string>): Promise<void>;
  /** The manifest descriptor a reference name points at, if any. */
  resolve(refName: string): Promise<Descriptor | undefined>;
  /** Every manifest descriptor in index.json. */
  list(): Promise<Descriptor[]>;
  /** Makes the names of the blobs put so far durable (one fsync of the blobs directory): call it before naming them. */
  sync(): Promise<void>;
}
