import type { Readable } from 'node:stream';
import type { Digest } from '../util/digest.js';

/**
 * Where the deploy step reads pinned service layers from, by digest. The deploy code sees only
 * this and digests; it never touches recipes or the image builder.
 */
export interface BlobSource {
  /** The blob's bytes; the stream errors when the source has no such blob. */
  open(digest: Digest): Readable;
  size(digest: Digest): Promise<number>;
}
