import type { Readable } from 'node:stream';
import { blobExists, downloadBlob, putManifest, uploadBlob, type BlobBody } from '../registry/blob-transfer.js';
import type { Repository } from '../registry/reference.js';
import { RegistryClient } from '../registry/registry-client.js';
import type { Digest } from '../util/digest.js';

/**
 * The registry side of a shared store: one repository of an OCI registry that holds every blob
 * the workspace's store holds (layers, image configs, image manifests), so no host's disk has the
 * only copy. It speaks the distribution API through the registry client, with the credentials
 * scoped to that registry's host (BAKE_REGISTRY_HOST with BAKE_REGISTRY_USERNAME/PASSWORD, or the
 * Docker config) and nowhere else.
 */
export interface BlobMirror {
  /** `registry/repository`, for messages. */
  readonly where: string;
  /**
   * Resolves once the registry holds the blob: known, found by HEAD, or uploaded from `body` (called
   * only when it must upload). Throws RegistryError, or whatever `body` throws.
   */
  ensure(digest: Digest, body: () => Promise<BlobBody>): Promise<void>;
  /** The blob's bytes, unverified (the store hashes them), or undefined when the registry has none. Throws RegistryError. */
  download(digest: Digest): Promise<Readable | undefined>;
  /** Puts an image manifest under a tag or its digest, every blob it names already held. Throws RegistryError. */
  putManifest(reference: string, manifest: { digest: Digest; mediaType: string; bytes: Buffer | string }): Promise<void>;
}

/** A mirror over `repository`; it remembers which blobs the registry holds for as long as it lives (one command). */
export function createBlobMirror(repository: Repository, env: NodeJS.ProcessEnv): BlobMirror {
  const client = new RegistryClient(repository, env);
  const held = new Set<Digest>();
  const pending = new Map<Digest, Promise<void>>();

  async function ensureOnce(digest: Digest, body: () => Promise<BlobBody>): Promise<void> {
    // The HEAD also settles authentication before a streamed upload, which cannot be replayed.
    if (!(await blobExists(client, digest))) await uploadBlob(client, digest, await body());
    held.add(digest);
  }

  return {
    where: `${repository.registry}/${repository.name}`,
    async ensure(digest, body) {
      if (held.has(digest)) return;
      let running = pending.get(digest);
      if (!running) {
        running = ensureOnce(digest, body).finally(() => pending.delete(digest));
        pending.set(digest, running);
      }
      await running;
    },
    download: (digest) => downloadBlob(client, digest),
    putManifest: (reference, manifest) => putManifest(client, reference, manifest),
  };
}
