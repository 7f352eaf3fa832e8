import { isDigest, type Digest } from './digest.js';
import { BakeError } from './errors.js';

declare const imageIdBrand: unique symbol;

/**
 * An engine's ID of an image (`docker image inspect` .Id). For every image bake loads it is the
 * image's config digest, which is a different thing from the manifest digest a release names:
 * a type of its own keeps the two from being swapped (neither is assignable to the other).
 */
export type ImageId = string & { readonly [imageIdBrand]: true };

/** The ID Docker gives an image whose config blob has this digest (Docker's definition of an image ID). */
export function imageIdOfConfig(config: Digest): ImageId {
  return config as string as ImageId;
}

/**
 * An image ID an engine reported, checked to be a sha256 digest (what bake's loads verify).
 * Throws BakeError for anything else: a tag or a short ID must never decide what runs.
 */
export function parseImageId(value: string): ImageId {
  if (!isDigest(value)) throw new BakeError(`not an image ID (sha256:<64 hex>): ${JSON.stringify(value)}`);
  return imageIdOfConfig(value);
}
