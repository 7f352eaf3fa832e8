import { randomBytes } from 'node:crypto';
import { close, createReadStream, existsSync, fdatasync, mkdirSync, open as openFile, write } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../util/errors.js';
import { withFileLock } from '../lock/file-lock.js';
import { atomicWriteFile, fsyncDirectory } from '../util/atomic-write.js';
import { digestHex, isDigest, sha256Digest, type Digest } from '../util/digest.js';
import { copyHashed } from '../util/hashed-copy.js';
import { mapLimit } from '../util/map-limit.js';
import { DigestMismatchError } from './digest-mismatch-error.js';
import type { LayoutStore } from './layout-store-contract.js';
import { Annotation, MediaType, type Descriptor } from './media-types.js';

interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

/**
 * Opens (creating if needed) the layout at `dir` on this host's disk alone; openLayoutStore (layout-store.ts)
 * decides whether the workspace's store is also backed by a blob registry. Throws StoreError.
 */
export async function openLocalLayout(dir: string): Promise<LayoutStore> {
  const blobs = join(dir, 'blobs', 'sha256');
  // Synchronous: it exists but for the first command, and a thread-pool round trip costs more than the call.
  mkdirSync(blobs, { recursive: true });
  const layoutFile = join(dir, 'oci-layout');
  if (!(await exists(layoutFile))) await atomicWriteFile(layoutFile, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const indexFile = join(dir, 'index.json');
  if (!(await exists(indexFile))) {
    await withIndexLock(indexFile, async () => {
      if (!(await exists(indexFile)))
        await atomicWriteFile(indexFile, indexBytes({ schemaVersion: 2, mediaType: MediaType.index, manifests: [] }));
    });
  }

  const blobPath = (digest: Digest) => {
    if (!isDigest(digest)) throw new StoreError(`not a sha256 digest: ${String(digest)}`);
    return join(blobs, digestHex(digest));
  };

  // Whether a blob was put (or found put) since the last fsync of the blobs directory.
  let unsynced = false;

  function mismatch(tmp: string, expected: Digest, digest: Digest, size: number): Promise<never> {
    return rm(tmp, { force: true }).then(() => {
      throw new DigestMismatchError(
        `blob digest mismatch: expected ${expected}, got ${digest} (${size} bytes); nothing was stored`,
        expected,
        digest,
        size,
      );
    });
  }
  /** Names a temp file whose bytes are durable: rename over any copy (same digest, same bytes). */
  async function name(tmp: string, digest: Digest): Promise<void> {
    await rename(tmp, blobPath(digest));
    // Another process's rename of this digest may not be durable yet either: sync() covers both.
    unsynced = true;
  }
  async function sync(): Promise<void> {
    if (!unsynced) return;
    unsynced = false;
    await fsyncDirectory(blobs);
  }

  const tempPath = () => join(blobs, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);

  /** The bytes in a new temp file, made durable when `durable`; returns its path. */
  async function writeTemp(bytes: Uint8Array | string, durable: boolean): Promise<string> {
    const tmp = tempPath();
    const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    // Plain descriptors, not a FileHandle: a monorepo's commit writes 200 small blobs, and the
    // handle's own bookkeeping was a fifth of the main thread's share of writing them.
    try {
      const fd = await openFd(tmp, 'wx', 0o644);
      try {
        for (let at = 0; at < data.byteLength; ) at += (await writeFd(fd, data, at, data.byteLength - at)).bytesWritten;
        if (durable) await datasyncFd(fd);
      } finally {
        await closeFd(fd);
      }
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    return tmp;
  }
  /** A stream hashed into a new temp file (durable when `durable`), checked against `expected`. */
  async function streamTemp(stream: Readable, expected: Digest | undefined, durable: boolean) {
    const tmp = tempPath();
    let written;
    try {
      written = await copyHashed(stream, tmp, undefined, { sync: durable });
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    if (expected && expected !== written.digest) return mismatch(tmp, expected, written.digest, written.size);
    return { tmp, ...written };
  }

  /**
   * A view whose puts are made durable together (see LayoutStore.batch): blob bytes wait in temp
   * files, unsynced, until `sync()` fdatasyncs them all at once, renames each under its digest
   * and fsyncs the directory once.
   */
  function batch(): LayoutStore {
    const pending = new Map<Digest, string>();
    let flushing: Promise<void> = Promise.resolve();
    const pathOf = (digest: Digest) => pending.get(digest) ?? blobPath(digest);
    async function flush(): Promise<void> {
      const names = [...pending];
      pending.clear();
      // Every temp file's data first, then the names: a name never reaches the disk before its bytes.
      await mapLimit(names, SYNC_CONCURRENCY, async ([, tmp]) => {
        const handle = await open(tmp, 'r+');
        try {
          await handle.datasync();
        } finally {
          await handle.close();
        }
      });
      await mapLimit(names, SYNC_CONCURRENCY, ([digest, tmp]) => name(tmp, digest));
      await sync();
    }
    const view: LayoutStore = {
      ...store,
      has: async (digest) => pending.has(digest) || (await store.has(digest)),
      async putBytes(bytes) {
        const digest = sha256Digest(bytes);
        const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
        if (!pending.has(digest) && !(await exists(blobPath(digest)))) {
          const tmp = await writeTemp(bytes, false);
          if (pending.has(digest)) await rm(tmp, { force: true });
          else pending.set(digest, tmp);
        }
        unsynced = true;
        return { digest, size };
      },
      async putStream(stream, expected) {
        if (expected && (pending.has(expected) || (await exists(blobPath(expected))))) {
          unsynced = true;
          stream.resume();
          return { digest: expected, size: (await stat(pathOf(expected))).size };
        }
        const { tmp, digest, size } = await streamTemp(stream, expected, false);
        if (pending.has(digest)) await rm(tmp, { force: true });
        else pending.set(digest, tmp);
        unsynced = true;
        return { digest, size };
      },
      async readBytes(digest) {
        if (!pending.has(digest)) return store.readBytes(digest);
        return readFile(pathOf(digest));
      },
      async readJson<T>(digest: Digest) {
        return JSON.parse((await view.readBytes(digest)).toString('utf8')) as T;
      },
      openRead: (digest) => createReadStream(pathOf(digest)),
      async tag(descriptor, refName) {
        await view.sync();
        await store.tag(descriptor, refName);
      },
      sync() {
        // One flush at a time; a sync called during one waits for it and flushes what came after.
        flushing = flushing.then(flush, flush);
        return flushing;
      },
    };
    return view;
  }

  const store: LayoutStore = {
    dir,
    blobPath,
    has: (digest) => exists(blobPath(digest)),
    async putBytes(bytes) {
      const digest = sha256Digest(bytes);
      const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
      if (!(await exists(blobPath(digest)))) await name(await writeTemp(bytes, true), digest);
      unsynced = true;
      return { digest, size };
    },
    async putStream(stream, expected) {
      if (expected && (await exists(blobPath(expected)))) {
        unsynced = true;
        stream.resume();
        return { digest: expected, size: (await stat(blobPath(expected))).size };
      }
      const { tmp, digest, size } = await streamTemp(stream, expected, true);
      await name(tmp, digest);
      return { digest, size };
    },
    async readBytes(digest) {
      try {
        return await readFile(blobPath(digest));
      } catch (error) {
        throw new StoreError(`blob ${digest} is missing from ${dir}`, { cause: error });
      }
    },
    async readJson<T>(digest: Digest) {
      return JSON.parse((await store.readBytes(digest)).toString('utf8')) as T;
    },
    openRead: (digest) => createReadStream(blobPath(digest)),
    async tag(descriptor, refName) {
      // index.json names the manifest, which names the config and layers: their names first.
      await sync();
      await withIndexLock(indexFile, async () => {
        const index = await readIndex(indexFile);
        const manifests = index.manifests.filter((m) => m.annotations?.[Annotation.refName] !== refName);
        manifests.push({ ...descriptor, annotations: { ...descriptor.annotations, [Annotation.refName]: refName } });
        await atomicWriteFile(indexFile, indexBytes({ ...index, manifests }));
      });
    },
    async untag(refNames) {
      await withIndexLock(indexFile, async () => {
        const index = await readIndex(indexFile);
        const manifests = index.manifests.filter((m) => !refNames.has(m.annotations?.[Annotation.refName] ?? ''));
        await atomicWriteFile(indexFile, indexBytes({ ...index, manifests }));
      });
    },
    async resolve(refName) {
      const index = await readIndex(indexFile);
      return index.manifests.find((m) => m.annotations?.[Annotation.refName] === refName);
    },
    async list() {
      return (await readIndex(indexFile)).manifests;
    },
    sync,
    batch,
  };
  return store;
}

const openFd = promisify(openFile);
const writeFd = promisify(write);
const datasyncFd = promisify(fdatasync);
const closeFd = promisify(close);

/** fdatasyncs (and renames) in flight at once when a batch is made durable: the thread pool's four and some queued. */
const SYNC_CONCURRENCY = 16;

function withIndexLock<T>(indexFile: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(indexFile, { purpose: 'update index.json' }, fn);
}

async function readIndex(indexFile: string): Promise<IndexJson> {
  let text: string;
  try {
    text = await readFile(indexFile, 'utf8');
  } catch (error) {
    throw new StoreError(`cannot read ${indexFile}`, { cause: error });
  }
  try {
    const index = JSON.parse(text) as IndexJson;
    if (!Array.isArray(index.manifests)) throw new Error('no manifests array');
    return index;
  } catch (error) {
    throw new StoreError(`${indexFile} is not a valid OCI index (${(error as Error).message}); it was left untouched`, { cause: error });
  }
}

function indexBytes(index: IndexJson): string {
  return `${JSON.stringify(index, null, 2)}\n`;
}

/**
 * Whether a name exists, asked synchronously: a lookup answered from the kernel's cache of names,
 * a few microseconds. Through the thread pool, a missing blob (every put of a new one) cost about
 * 70 µs for the round trip and the Error it rejects with; a monorepo's commit and bake asked 600 times.
 */
async function exists(path: string): Promise<boolean> {
  return existsSync(path);
}
