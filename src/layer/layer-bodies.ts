import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { BodyChunks, TreeEntry } from '../tree/tree.js';
import type { Digest } from '../util/digest.js';
import { bodyOffsets } from './tar-writer.js';

/** Where one git blob's bytes sit in a layer this process wrote. */
interface KnownBody {
  blob: string;
  offset: number;
  size: number;
}

/** Layers remembered at most (the least recently written go first): a few per service being worked on. */
const REMEMBERED = 64;

/** Bytes read at a time from a layer: a 50 MB body is 50 reads, not 800 pipe chunks. */
const READ_BYTES = 1024 * 1024;

const remembered = new Map<Digest, Map<string, KnownBody>>();

/**
 * Remembers where the git blobs of `entries` (sorted and placed, as written) lie in the layer
 * `layer` just stored with `mtime`. A later layer of the same service copies its unchanged files
 * from there (reuseBodies) instead of reading them from git again: a one-file change to a 50 MB
 * service read 50 MB through git's pipe, slower than the disk's page cache by half. Kept in this
 * process, and in `dir` (one small JSON file per layer, named by its digest and written whole or
 * not at all) for the next process: a cache, so a file that cannot be written is no error.
 */
export function rememberBodies(layer: Digest, entries: readonly TreeEntry[], mtime: number, dir: string): void {
  if (!entries.some((e) => e.blob !== undefined)) return;
  const offsets = bodyOffsets(entries, { mtime });
  const bodies = new Map<string, KnownBody>();
  for (const [i, entry] of entries.entries()) {
    if (entry.type === 'file' && entry.blob !== undefined)
      bodies.set(entry.path, { blob: entry.blob, offset: offsets[i] as number, size: entry.size });
  }
  hold(layer, bodies);
  try {
    mkdirSync(dir, { recursive: true });
    const file = indexFile(dir, layer);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ layer, bodies: [...bodies].map(([path, b]) => [path, b.blob, b.offset, b.size]) }));
    renameSync(tmp, file);
  } catch {
    // A cache: the next layer reads git instead.
  }
}

function hold(layer: Digest, bodies: Map<string, KnownBody>): void {
  remembered.delete(layer);
  remembered.set(layer, bodies);
  for (const oldest of remembered.keys()) {
    if (remembered.size <= REMEMBERED) break;
    remembered.delete(oldest);
  }
}

function indexFile(dir: string, layer: Digest): string {
  return join(dir, `${layer.slice(7)}.json`);
}

/** What this process or an earlier one remembered of `layer`; undefined when nothing (or nothing readable). */
function recall(layer: Digest, dir: string): Map<string, KnownBody> | undefined {
  const held = remembered.get(layer);
  if (held) return held;
  try {
    const saved = JSON.parse(readFileSync(indexFile(dir, layer), 'utf8')) as { layer?: unknown; bodies?: unknown };
    if (saved.layer !== layer || !Array.isArray(saved.bodies)) return undefined;
    const bodies = new Map<string, KnownBody>();
    for (const row of saved.bodies as unknown[]) {
      const [path, blob, offset, size] = Array.isArray(row) ? row : [];
      if (typeof path !== 'string' || typeof blob !== 'string' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size))
        return undefined;
      bodies.set(path, { blob, offset: offset as number, size: size as number });
    }
    hold(layer, bodies);
    return bodies;
  } catch {
    return undefined;
  }
}

/**
 * `entries` (sorted and placed) with each file whose blob the layer `previous` holds at the same
 * path (as remembered here or in `dir`) read from `file`, that layer's blob on this disk. Each body checks the header in front of
 * it (a file member of its size) before it trusts the offset, and reads git otherwise (as it does when the file is gone).
 */
export function reuseBodies(previous: Digest, file: string, entries: readonly TreeEntry[], dir: string): readonly TreeEntry[] {
  const known = recall(previous, dir);
  if (!known || !existsSync(file)) return entries;
  return entries.map((entry) => {
    const fromGit = entry.type === 'file' ? entry.chunks : undefined;
    const body = fromGit ? known.get(entry.path) : undefined;
    if (!fromGit || !body || body.blob !== entry.blob || body.size !== entry.size) return entry;
    const chunks = () => rangeChunks(file, body.offset, body.size, fromGit);
    const { open: _open, copyInto: _copyInto, ...rest } = entry;
    return { ...rest, chunks, read: () => readAll(chunks()) };
  });
}

/** `size` bytes at `offset` of `file`, in 1 MiB reads; `fallback`'s chunks when the member header before them does not match. */
function rangeChunks(file: string, offset: number, size: number, fallback: () => BodyChunks): BodyChunks {
  let cancelled = false;
  // Git's body, once the layer's file turned out not to hold it: cancelled with this one.
  let fromGit: BodyChunks | undefined;
  async function* read(): AsyncGenerator<Buffer> {
    // Gone meanwhile (a gc that found it unreferenced): git has the same bytes.
    const handle = await open(file, 'r').catch(() => undefined);
    if (!handle) {
      fromGit = fallback();
      yield* fromGit;
      return;
    }
    try {
      const header = Buffer.alloc(512);
      const { bytesRead } = await handle.read(header, 0, 512, offset - 512);
      if (bytesRead !== 512 || !isFileHeaderOf(header, size)) {
        fromGit = fallback();
        yield* fromGit;
        return;
      }
      for (let at = 0; at < size && !cancelled; ) {
        const want = Math.min(READ_BYTES, size - at);
        const buffer = Buffer.allocUnsafe(want);
        const { bytesRead: got } = await handle.read(buffer, 0, want, offset + at);
        if (got === 0) throw new Error(`layer ${file} ends inside a member it was remembered to hold`);
        yield got === want ? buffer : buffer.subarray(0, got);
        at += got;
      }
    } finally {
      await handle.close();
    }
  }
  const iterator = read();
  return {
    [Symbol.asyncIterator]: () => iterator,
    cancel: () => {
      cancelled = true;
      fromGit?.cancel();
      void iterator.return(undefined).catch(() => undefined);
    },
  };
}

/** Whether a ustar header block describes a regular file (typeflag '0') of `size` bytes. */
function isFileHeaderOf(header: Buffer, size: number): boolean {
  const declared = Number.parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/, '').trim() || 'x', 8);
  return header[156] === 0x30 && declared === size;
}

async function readAll(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}
