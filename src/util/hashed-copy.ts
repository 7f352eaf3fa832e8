import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from './digest.js';

/**
 * Streams `source` into a new file, hashing as it goes: the digest is of exactly the bytes
 * written. Beyond `maxBytes` the copy stops with `tooLarge()`. The caller owns the file (and
 * removes it on failure).
 */
export async function copyHashed(
  source: Readable,
  file: string,
  limit?: { maxBytes: number; tooLarge: () => Error },
): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    source,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        size += chunk.length;
        if (limit && size > limit.maxBytes) throw limit.tooLarge();
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(file, { flags: 'wx' }),
  );
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
