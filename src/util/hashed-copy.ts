import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';

/**
 * Writes are gathered up to this many bytes: a tar stream arrives as a 512-byte header, a body and
 * its padding per file, and a monorepo's thousands of small files were as many write calls.
 */
const GATHER_BYTES = 256 * 1024;

/** With `sync`, an early fdatasync is started each time this many more bytes were written. */
const SYNC_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * Streams `source` into a new file, hashing as it goes: the digest is of exactly the bytes
 * written. Beyond `maxBytes` the copy stops with `tooLarge()`. With `sync`, the file's data is on
 * disk (fdatasync) before this resolves, so a name given to it afterwards never names a torn file.
 * The caller owns the file (and removes it on failure).
 */
export async function copyHashed(
  source: Readable,
  file: string,
  limit?: { maxBytes: number; tooLarge: () => Error },
  options: { sync?: boolean } = {},
): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const handle = await open(file, 'wx', 0o644);
  try {
    let gathered: Buffer[] = [];
    let gatheredBytes = 0;
    // One write in flight while the next bytes are read and hashed: awaiting each write stalled
    // the copy on the disk (a 50 MB layer spent a third of its copy waiting). A write's error is
    // thrown at the next flush or at the end.
    let writing: Promise<void> = Promise.resolve();
    const writeAll = async (buffers: Buffer[]) => {
      // writev may write less than asked: write what is left until every byte is down.
      let rest = buffers;
      while (rest.length > 0) {
        const { bytesWritten } = await handle.writev(rest);
        rest = skipBytes(rest, bytesWritten);
      }
    };
    // With `sync`, the disk is set writing early: an fdatasync every SYNC_AHEAD_BYTES while the
    // copy goes on, so the one at the end (which the caller waits for) has little left to flush.
    let unsyncedBytes = 0;
    const early: Promise<void>[] = [];
    const flush = async () => {
      await writing;
      if (options.sync && unsyncedBytes >= SYNC_AHEAD_BYTES) {
        unsyncedBytes = 0;
        early.push(handle.datasync().catch(() => undefined));
      }
      const buffers = gathered;
      unsyncedBytes += gatheredBytes;
      gathered = [];
      gatheredBytes = 0;
      writing = writeAll(buffers);
      // Handled here so a failure waits for its flush without counting as unhandled meanwhile.
      writing.catch(() => undefined);
    };
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (limit && size > limit.maxBytes) throw limit.tooLarge();
        hash.update(chunk);
        gathered.push(chunk);
        gatheredBytes += chunk.length;
        if (gatheredBytes >= GATHER_BYTES) await flush();
      }
    } catch (error) {
      source.destroy();
      // The file is the caller's to remove; the write in flight must end before the handle closes.
      await writing.catch(() => undefined);
      await Promise.all(early);
      throw error;
    }
    await flush();
    await writing;
    await Promise.all(early);
    if (options.sync) await handle.datasync();
  } finally {
    await handle.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

function skipBytes(buffers: Buffer[], n: number): Buffer[] {
  let left = n;
  let i = 0;
  while (i < buffers.length && left >= (buffers[i] as Buffer).length) left -= (buffers[i++] as Buffer).length;
  const rest = buffers.slice(i);
  if (left > 0 && rest[0]) rest[0] = rest[0].subarray(left);
  return rest;
}
