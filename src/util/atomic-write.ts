import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/**
 * Replaces `file` with `data` so that a reader (or a crash at any instant) sees either the old
 * content or the new, never a mix: temp file in the same directory, fsync, rename, fsync the dir.
 * Throws whatever the file system throws; the temp file is removed on failure.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await fsyncDirectory(dirname(file));
}

/** Makes a rename in `dir` durable. Some file systems refuse to fsync a directory; that is not fatal. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL on platforms without directory fsync: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}
