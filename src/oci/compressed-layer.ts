import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createGzip, constants } from 'node:zlib';
import { atomicWriteFile } from '../util/atomic-write.js';
import { digestHex, isDigest, type Digest } from '../util/digest.js';
import type { LayoutStore } from './layout-store.js';
import { MediaType, type Descriptor } from './media-types.js';

/**
 * Gzip level of pushed layers. Fixed, with zlib's fixed gzip header (no name, mtime 0), so one
 * zlib gives one compressed digest per layer; a different zlib build may compress differently,
 * which is why the result is cached by the uncompressed digest rather than recomputed.
 */
export const GZIP_LEVEL = 6;

/**
 * The gzip twin of a stored (uncompressed) layer, for pushing over a real network: computed once
 * and cached in the store (`compressed/<uncompressed hex>.json` → the compressed blob's
 * descriptor), so a second push of the same layer costs nothing. The compressed blob is an
 * ordinary content-addressed blob (hashed as written, renamed into place). The mapping is written
 * atomically after the blob, so it never names a blob that is not there. Throws StoreError.
 */
export async function compressedLayer(store: LayoutStore, layer: Descriptor): Promise<Descriptor> {
  if (!isDigest(layer.digest)) throw new TypeError(`not a sha256 digest: ${String(layer.digest)}`);
  const record = join(store.dir, 'compressed', `${digestHex(layer.digest)}.json`);
  const cached = await readRecord(record);
  if (cached && (await store.has(cached.digest))) return cached;
  const gzip = createGzip({ level: GZIP_LEVEL, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: 1 << 17 });
  const source = store.openRead(layer.digest);
  source.on('error', (error) => gzip.destroy(error));
  const { digest, size } = await store.putStream(source.pipe(gzip));
  const descriptor: Descriptor = { mediaType: MediaType.layerGzip, digest, size };
  // The record names the blob: the blob's name is made durable first (see LayoutStore).
  await store.sync();
  await mkdir(dirname(record), { recursive: true });
  await atomicWriteFile(record, `${JSON.stringify({ uncompressed: layer.digest, ...descriptor, level: GZIP_LEVEL })}\n`);
  return descriptor;
}

async function readRecord(file: string): Promise<Descriptor | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<Descriptor>;
    if (value.mediaType === MediaType.layerGzip && isDigest(value.digest) && typeof value.size === 'number') {
      return { mediaType: value.mediaType, digest: value.digest as Digest, size: value.size };
    }
  } catch {
    // Absent or unreadable: compress again (the result is the same blob).
  }
  return undefined;
}
