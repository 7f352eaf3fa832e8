import type { Readable } from 'node:stream';

/**
 * Where the deploy step reads pinned service layers from, by digest. The deploy code sees only
 * this and digests; it never touches recipes or the image builder.
 */
export interface BlobSource {
  open(digest: string): Readable;
  size(digest: string): Promise<number>;
}
