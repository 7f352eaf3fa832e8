import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobSource } from '../../src/deploy/blob-source.js';

/** The workspace's store as the deploy step sees it: blobs by digest. */
export function storeBlobs(workspace: string): BlobSource {
  const path = (digest: string) => join(workspace, '.bake', 'store', 'blobs', 'sha256', digest.replace('sha256:', ''));
  return { open: (digest) => createReadStream(path(digest)), size: async (digest) => (await stat(path(digest))).size };
}
