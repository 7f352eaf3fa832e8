import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, access } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../util/errors.js';
import { withFileLock } from '../lock/file-lock.js';
import { atomicWriteFile, fsyncDirectory } from '../util/atomic-write.js';
import { digestHex, isDigest, sha256Digest, type Digest } from '../util/digest.js';
import { copyHashed } from '../util/hashed-copy.js';
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
  await mkdir(blobs, { recursive: true });
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

  async function commitTemp(tmp: string, digest: Digest, size: number, expected?: Digest) {
    if (expected && expected !== digest) {
      await rm(tmp, { force: true });
      throw new DigestMismatchError(
        `blob digest mismatch: expected ${expected}, got ${digest} (${size} bytes); nothing was stored`,
        expected,
        digest,
        size,
      );
    }
    const final = blobPath(digest);
    if (await exists(final)) {
      await rm(tmp, { force: true });
    } else {
      await rename(tmp, final);
    }
    // Another process's rename of this digest may not be durable yet either: sync() covers both.
    unsynced = true;
    return { digest, size };
  }
  async function sync(): Promise<void> {
    if (!unsynced) return;
    unsynced = false;
    await fsyncDirectory(blobs);
  }

  const tempPath = () => join(blobs, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);

  const store: LayoutStore = {
    dir,
    blobPath,
    has: (digest) => exists(blobPath(digest)),
    async putBytes(bytes) {
      const digest = sha256Digest(bytes);
      const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
      if (await exists(blobPath(digest))) {
        unsynced = true;
        return { digest, size };
      }
      const tmp = tempPath();
      try {
        const handle = await open(tmp, 'wx', 0o644);
        try {
          await handle.writeFile(bytes);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return commitTemp(tmp, digest, size);
    },
    async putStream(stream, expected) {
      if (expected && (await exists(blobPath(expected)))) {
        unsynced = true;
        stream.resume();
        return { digest: expected, size: (await stat(blobPath(expected))).size };
      }
      const tmp = tempPath();
      let written;
      try {
        written = await copyHashed(stream, tmp, undefined, { sync: true });
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return commitTemp(tmp, written.digest, written.size, expected);
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
  };
  return store;
}

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

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
