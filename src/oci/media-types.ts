import { Label } from '../engine/labels.js';

/** OCI media types and annotation keys used by the store and the image builder. */
export const MediaType = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  /** Layers are stored uncompressed locally: hashing is the limit, not gzip (see README). */
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export const Annotation = {
  refName: 'org.opencontainers.image.ref.name',
  created: 'org.opencontainers.image.created',
  revision: 'org.opencontainers.image.revision',
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  baseDigest: 'org.opencontainers.image.base.digest',
  /** JSON map service → version number: the image's version vector. */
  vector: Label.vector,
  image: Label.image,
  bakeLevel: Label.level,
} as const;

/** A content descriptor, as in the OCI image spec. */
export interface Descriptor {
  mediaType: string;
  digest: `sha256:${string}`;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string };
}
