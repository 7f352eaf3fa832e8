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
 * Durability of the bytes can be batched too, through `batch()`: a batch writes each blob's bytes
 * to a temp file and leaves them unsynced; its `sync()` then fdatasyncs all of them at once (the
 * file system commits them together, in one journal transaction or a few), renames each under its
 * digest, and fsyncs the directory: step 1 for the whole batch, then step 2. No name is given
 * before its bytes are durable, so the guarantee above holds unchanged; until `sync()` the
 * batch's blobs are visible through the batch alone. A bake puts its image's three blobs
 * (supervisor layer, config, manifest) in one batch: one round of fdatasyncs instead of three in
 * a row. A commit does not: its layers' fdatasyncs, one per layer, overlap with packing the next
 * services, and a monorepo's 200 deferred to the end took longer (measured) than overlapped.
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
  /**
   * A view of this store whose puts are made durable together, by its `sync()` (which `tag` calls):
   * until then they are temp files, unsynced and unnamed, that only this view reads (`has`,
   * `readBytes`, `readJson`, `openRead`; `blobPath` names where they will be). A batch never synced
   * leaves temp files only (gc removes them). Absent where each put must be complete when it
   * returns (a registry-backed store uploads it): callers then use the store itself.
   */
  batch?(): LayoutStore;
}
