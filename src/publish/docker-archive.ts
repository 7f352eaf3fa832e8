import type { Readable } from 'node:stream';
import { archiveOf, type ArchiveFile } from '../layer/tar.js';
import type { ImageManifest } from '../oci/image-config.js';
import type { LayoutStore } from '../oci/layout-store.js';
import type { Digest } from '../util/digest.js';

/**
 * An image from the store as a `docker save` archive (manifest.json + config + layer tars), the
 * format Docker 20.10's `load` accepts; it predates loading OCI layouts. Layers are stored
 * uncompressed, which is also what that format wants, so the image ID equals our config digest.
 */
export async function dockerArchive(
  store: LayoutStore,
  manifestDigest: Digest,
  repoTags: string[],
): Promise<{ archive: Readable; configDigest: Digest }> {
  const manifest = await store.readJson<ImageManifest>(manifestDigest);
  const blob = (digest: Digest, size: number, name: string): ArchiveFile => ({ name, size, body: () => store.openRead(digest) });
  const files: ArchiveFile[] = [
    blob(manifest.config.digest, manifest.config.size, `blobs/sha256/${manifest.config.digest.slice(7)}`),
    ...manifest.layers.map((l) => blob(l.digest, l.size, `blobs/sha256/${l.digest.slice(7)}`)),
  ];
  const index = Buffer.from(
    JSON.stringify([
      { Config: files[0]?.name, RepoTags: repoTags, Layers: manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) },
    ]),
  );
  // manifest.json first lets the engine plan the load before the layers arrive.
  const unique = [...new Map(files.map((f) => [f.name, f])).values()];
  return {
    archive: archiveOf([{ name: 'manifest.json', size: index.length, body: () => index }, ...unique]),
    configDigest: manifest.config.digest,
  };
}
