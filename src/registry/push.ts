import { stat } from 'node:fs/promises';
import { compressedLayer } from '../oci/compressed-layer.js';
import type { ImageManifest } from '../oci/image-config.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { MediaType } from '../oci/media-types.js';
import { canonicalJson } from '../util/canonical-json.js';
import { StoreError } from '../util/errors.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { mapLimit } from '../util/map-limit.js';
import type { Digest } from '../util/digest.js';
import type { Repository } from './reference.js';
import { blobExists, putManifest, uploadBlob } from './blob-transfer.js';
import { RegistryClient } from './registry-client.js';

export interface PushResult {
  /** `registry/repo@sha256:…`: the only way a deploy should name what it runs. */
  reference: string;
  digest: string;
  tag: string;
  uploaded: number;
  skipped: number;
  /** Blob bytes sent (the manifest excluded). */
  bytes: number;
  /** Layers went gzip-compressed: `digest` is then the pushed manifest's, not the store's. */
  compressed: boolean;
  /** The store's (uncompressed) manifest digest, which the build records. */
  storeDigest: string;
}

/**
 * Pushes an image from the store over the distribution API: blobs the registry already has are
 * skipped (HEAD), the rest uploaded monolithically, then the manifest is put by tag. By default
 * layers go as stored, so the registry's manifest digest is the store's. With `compress`, each
 * uncompressed layer goes as its cached gzip twin (compressedLayer) under a manifest that names
 * them (stored too, so the pushed digest is content-addressed locally): fewer bytes on the wire,
 * but a manifest digest that differs from the store's. Either way the registry's echo is checked.
 * Throws RegistryError, StoreError.
 */
export async function pushImage(
  store: LayoutStore,
  storeDigest: Digest,
  repository: Repository,
  options: { tag: string; env?: NodeJS.ProcessEnv; progress?: ProgressSink; compress?: boolean },
): Promise<PushResult> {
  const progress = options.progress ?? silent;
  const client = new RegistryClient(repository, options.env);
  const compress = options.compress === true;
  const { manifestDigest, manifestBytes, manifest } = compress
    ? await compressedManifest(store, storeDigest, progress)
    : await stored(store, storeDigest);
  const blobs = [manifest.config, ...manifest.layers];
  let uploaded = 0;
  let skipped = 0;
  let bytes = 0;
  // The first request settles authentication; the rest go four at a time.
  const first = blobs[0] ? await blobExists(client, blobs[0].digest) : false;
  await mapLimit(blobs, 4, async (blob, i) => {
    if (i === 0 ? first : await blobExists(client, blob.digest)) {
      skipped++;
      return;
    }
    progress({ kind: 'step', message: `uploading ${blob.digest.slice(0, 19)} (${blob.size} bytes)` });
    const sent = await uploadFromStore(client, store, blob.digest); // not `bytes += await`: uploads overlap
    bytes += sent;
    uploaded++;
  });
  await putManifest(client, options.tag, { digest: manifestDigest, mediaType: manifest.mediaType, bytes: manifestBytes });
  return {
    reference: `${repository.registry}/${repository.name}@${manifestDigest}`,
    digest: manifestDigest,
    tag: options.tag,
    uploaded,
    skipped,
    bytes,
    compressed: compress,
    storeDigest,
  };
}

async function stored(store: LayoutStore, digest: Digest) {
  const manifestBytes = await store.readBytes(digest);
  return { manifestDigest: digest, manifestBytes, manifest: JSON.parse(manifestBytes.toString('utf8')) as ImageManifest };
}

/** The store's manifest with every uncompressed layer replaced by its gzip twin; written to the store. */
async function compressedManifest(store: LayoutStore, digest: Digest, progress: ProgressSink) {
  const { manifest } = await stored(store, digest);
  // zlib runs in the thread pool: two layers at a time use both cores of a small machine.
  const layers = await mapLimit(manifest.layers, 2, async (layer) => {
    if (layer.mediaType !== MediaType.layer) return layer;
    progress({ kind: 'step', message: `compressing ${layer.digest.slice(0, 19)} (${layer.size} bytes)` });
    return compressedLayer(store, layer);
  });
  const bytes = canonicalJson({ ...manifest, layers });
  const written = await store.putBytes(bytes);
  return { manifestDigest: written.digest, manifestBytes: Buffer.from(bytes), manifest: { ...manifest, layers } };
}

/** Uploads one blob of the store (fetched into it first when it is backed by a blob registry); returns its size. */
async function uploadFromStore(client: RegistryClient, store: LayoutStore, digest: Digest): Promise<number> {
  if (!(await store.has(digest))) throw new StoreError(`blob ${digest} is missing from ${store.dir}`);
  const size = (await stat(store.blobPath(digest))).size;
  await uploadBlob(client, digest, { size, open: () => store.openRead(digest) });
  return size;
}
