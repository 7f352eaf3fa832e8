import { stat } from 'node:fs/promises';
import { PassThrough, pipeline } from 'node:stream';
import type { ImageManifest } from '../oci/image-config.js';
import { DigestMismatchError } from '../oci/digest-mismatch-error.js';
import type { LayoutStore } from '../oci/layout-store-contract.js';
import { MediaType } from '../oci/media-types.js';
import type { Digest } from '../util/digest.js';
import { StoreError } from '../util/errors.js';
import { mapLimit } from '../util/map-limit.js';
import type { BlobMirror } from './blob-mirror.js';

/**
 * The workspace's store when its state is shared: the local OCI layout stays where every read and
 * write happens, as the cache, and the blob registry holds the copy no host's disk is needed for.
 *
 * - Writes: a put returns only once the blob is in the registry too (after the local write, so the
 *   local crash-safety order is unchanged). Every record that names a blob (a version, a build) is
 *   written after the put that made it, so whatever a shared database records has its bytes in the
 *   registry. An image manifest is also PUT as a manifest by its digest (its config and layers
 *   ensured first), and `tag` PUTs it under `<image>-<build>`: the registry holds images, not only
 *   loose blobs.
 * - Reads: a blob missing from the local layout is fetched from the registry into it, hashed on
 *   the way and renamed under its digest only if it matches (temp file, fdatasync, rename, as every
 *   put). A mismatch is a DigestMismatchError naming the digest and the registry; nothing is stored.
 *   `has` fetches too: it answers whether the blob is available here, and afterwards it is.
 * - `tag` makes the image complete locally first (manifest, config, layers), so index.json never
 *   names an image whose blobs are not on this disk: the layout stays valid for skopeo and umoci.
 * - Nothing is ever deleted from the registry (`bake gc` removes local blobs only).
 */
export function registryBackedStore(local: LayoutStore, mirror: BlobMirror): LayoutStore {
  const fetching = new Map<Digest, Promise<boolean>>();

  const toRegistry = (digest: Digest) =>
    mirror.ensure(digest, async () => {
      const size = await stat(local.blobPath(digest)).then(
        (info) => info.size,
        (error: unknown) => {
          throw new StoreError(`blob ${digest} is neither in ${local.dir} nor in the blob registry ${mirror.where}`, { cause: error });
        },
      );
      return { size, open: () => local.openRead(digest) };
    });

  /** Whether the blob is in the local layout now, fetched from the registry if it was not. */
  async function available(digest: Digest): Promise<boolean> {
    if (await local.has(digest)) return true;
    let running = fetching.get(digest);
    if (!running) {
      running = fetchIntoLayout(digest).finally(() => fetching.delete(digest));
      fetching.set(digest, running);
    }
    return running;
  }

  async function fetchIntoLayout(digest: Digest): Promise<boolean> {
    const body = await mirror.download(digest);
    if (!body) return false;
    try {
      await local.putStream(body, digest);
    } catch (error) {
      if (!(error instanceof DigestMismatchError)) throw error;
      throw new DigestMismatchError(
        `the blob registry ${mirror.where} holds corrupt bytes for ${digest}: they hash to ${error.actual} (${error.size} bytes); ` +
          `refused, nothing was stored (remove the blob from the registry and upload it again from a host whose store has it)`,
        digest,
        error.actual,
        error.size,
        mirror.where,
        { cause: error },
      );
    }
    return true;
  }

  async function need(digest: Digest): Promise<void> {
    if (!(await available(digest)))
      throw new StoreError(`blob ${digest} is missing from ${local.dir} and from the blob registry ${mirror.where}`);
  }

  /** An image manifest's blobs to the registry, then the manifest itself under `reference`. */
  async function publishImage(digest: Digest, bytes: Buffer | string, image: ImageManifest, reference: string): Promise<void> {
    await mapLimit([image.config, ...image.layers], 4, (blob) => toRegistry(blob.digest));
    await mirror.putManifest(reference, { digest, mediaType: image.mediaType, bytes });
  }

  const store: LayoutStore = {
    dir: local.dir,
    blobPath: (digest) => local.blobPath(digest),
    has: available,
    async putBytes(bytes) {
      const written = await local.putBytes(bytes);
      await toRegistry(written.digest);
      const body = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const image = imageManifestOf(body);
      if (image) await publishImage(written.digest, body, image, written.digest);
      return written;
    },
    async putStream(stream, expected) {
      const written = await local.putStream(stream, expected);
      await toRegistry(written.digest);
      return written;
    },
    async readBytes(digest) {
      await need(digest);
      return local.readBytes(digest);
    },
    async readJson<T>(digest: Digest) {
      await need(digest);
      return local.readJson<T>(digest);
    },
    openRead(digest) {
      // The contract is a stream at once; the fetch (when needed) happens before its first byte.
      const out = new PassThrough();
      need(digest).then(
        () => pipeline(local.openRead(digest), out, () => {}),
        (error: unknown) => out.destroy(error as Error),
      );
      return out;
    },
    async tag(descriptor, refName) {
      const bytes = await store.readBytes(descriptor.digest);
      const image = imageManifestOf(bytes);
      if (image) {
        await mapLimit([image.config, ...image.layers], 4, (blob) => need(blob.digest));
        await publishImage(descriptor.digest, bytes, image, registryTag(refName) ?? descriptor.digest);
      }
      await local.tag(descriptor, refName);
    },
    untag: (refNames) => local.untag(refNames),
    resolve: (refName) => local.resolve(refName),
    list: () => local.list(),
    sync: () => local.sync(),
  };
  return store;
}

/** The bytes as an image manifest, when they are one (config and layers named); undefined otherwise. */
function imageManifestOf(bytes: Buffer | string): ImageManifest | undefined {
  const text = typeof bytes === 'string' ? bytes : bytes.subarray(0, 1).toString('utf8') === '{' ? bytes.toString('utf8') : '';
  if (!text.startsWith('{')) return undefined;
  let value: Partial<ImageManifest>;
  try {
    value = JSON.parse(text) as Partial<ImageManifest>;
  } catch {
    return undefined;
  }
  const isImage = value.mediaType === MediaType.manifest || value.mediaType === MediaType.dockerManifest;
  return isImage && typeof value.config?.digest === 'string' && Array.isArray(value.layers) ? (value as ImageManifest) : undefined;
}

/** `shop:3` → `shop-3`, as `bake push` tags builds; undefined when the ref name makes no valid tag. */
function registryTag(refName: string): string | undefined {
  const tag = refName.replace(/:/g, '-');
  return /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag) ? tag : undefined;
}
