import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A file is renewed past this size or age (what it still lists of ended requests goes with the old one). */
const RENEW_BYTES = 256 * 1024;
const RENEW_MS = 60_000;

/**
 * The in-flight markers of one `bake serve` process whose store records crashes itself (the
 * request ledger): they only tell `bake gc` on this host which uploads running requests name. Each
 * request is a line (its job as JSON) of one file this process appends to; gc reads every upload a
 * marker file names. A line stays after its request ended until the file is emptied (when nothing
 * runs) or renewed (past RENEW_BYTES or RENEW_MS: a new file with the requests still running,
 * then the old one goes), so gc may keep an ended request's uploads a little longer, never a
 * running one's shorter.
 *
 * Appending is one write to a file already open, made synchronously (a few µs; a thread-pool
 * round trip costs ~60 µs more); making and removing a file for every request costs the kernel
 * about a millisecond each on the machines measured.
 */
export interface MarkerLog {
  /** Marks a request as running; throws when the marker cannot be written (the request must not run). */
  add(id: string, text: string): void;
  remove(id: string): void;
  /** Removes the file (the service stops). */
  close(): void;
}

export function openMarkerLog(dir: string): MarkerLog {
  const running = new Map<string, string>();
  let file: { path: string; fd: number; bytes: number; since: number } | undefined;

  const create = () => {
    const path = join(dir, `${process.pid}-${randomUUID()}.json`);
    let fd: number;
    try {
      fd = openSync(path, 'a', 0o644);
    } catch (error) {
      // gc or a restart of another service in this workspace removed the directory.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(dir, { recursive: true });
      fd = openSync(path, 'a', 0o644);
    }
    const next = { path, fd, bytes: 0, since: Date.now() };
    for (const line of running.values()) append(next, line);
    return next;
  };
  const append = (to: NonNullable<typeof file>, line: string) => {
    to.bytes += writeSync(to.fd, line);
  };
  const drop = (old: NonNullable<typeof file>) => {
    closeSync(old.fd);
    rmSync(old.path, { force: true });
  };
  /** The file to append to: renewed when old or large, made again when something removed it. */
  const current = () => {
    if (file && fstatSync(file.fd).nlink === 0) {
      closeSync(file.fd);
      file = undefined;
    }
    if (file && (file.bytes > RENEW_BYTES || Date.now() - file.since > RENEW_MS)) {
      const old = file;
      file = create();
      drop(old);
    }
    file ??= create();
    return file;
  };

  return {
    add(id, text) {
      const line = `${text.replaceAll('\n', ' ')}\n`;
      running.set(id, line);
      try {
        append(current(), line);
      } catch (error) {
        running.delete(id);
        throw error;
      }
    },
    remove(id) {
      if (!running.delete(id) || running.size > 0 || !file) return;
      // Nothing runs: nothing to keep. (A gc reading meanwhile sees part of what it need not keep.)
      try {
        ftruncateSync(file.fd, 0);
        file.bytes = 0;
        file.since = Date.now();
      } catch {
        // kept as it is: it only keeps more
      }
    },
    close() {
      if (file) drop(file);
      file = undefined;
    },
  };
}
