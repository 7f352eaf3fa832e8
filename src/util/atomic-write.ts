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

/** Per directory, the fsync running now and the one that waits for it (shared by everyone who asked meanwhile). */
const directorySyncs = new Map<string, { running: Promise<void>; queued?: Promise<void> }>();

/**
 * Makes a rename in `dir` durable. Some file systems refuse to fsync a directory; that is not fatal.
 * Concurrent callers share fsyncs (a service recording many commits at once made one per commit):
 * one that asks while an fsync runs (which may have begun before its rename) waits for the next,
 * which starts when that one ends and serves everyone who asked in between.
 */
export function fsyncDirectory(dir: string): Promise<void> {
  const state = directorySyncs.get(dir);
  if (!state) return startDirectorySync(dir);
  state.queued ??= state.running.then(() => startDirectorySync(dir));
  return state.queued;
}

function startDirectorySync(dir: string): Promise<void> {
  const state: { running: Promise<void>; queued?: Promise<void> } = { running: syncDirectoryOnce(dir) };
  directorySyncs.set(dir, state);
  // Registered before any waiter's `then`, so the next fsync finds this one gone.
  void state.running.then(() => {
    if (directorySyncs.get(dir) === state) directorySyncs.delete(dir);
  });
  return state.running;
}

/** One fsync of `dir`; never rejects. */
async function syncDirectoryOnce(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EINVAL on platforms without directory fsync: the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
