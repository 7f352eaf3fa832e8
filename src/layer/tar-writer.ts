import { Readable } from 'node:stream';
import type { TreeEntry } from '../tree/tree.js';
import { UnsafeSourceError } from '../util/errors.js';

/**
 * Writes deterministic tar archives, byte for byte what tar-stream's pack wrote for the same
 * entries (the golden digests pin it), without its stream machinery: a monorepo's 2,200 small
 * files went through four stream objects and a dozen callbacks each, a third of a cold bake's CPU.
 * Every header field is set on purpose (ustar, uid/gid 0, empty user and group names, the bake
 * clock as mtime); a path or link target that ustar cannot hold gets a PAX header, as tar-stream did.
 */

export interface TarWriteOptions {
  /** Seconds since the epoch for every entry's mtime: the bake clock. */
  mtime: number;
}

/**
 * Bodies asked for ahead of the one being written: a streamed source (git) then never waits for a
 * request's round trip, and holds only what the tar has not taken yet. The window is refilled
 * once half of it is written, so git is asked sixteen at a time rather than once per file.
 */
const LOOKAHEAD = 32;

/** A body opened ahead: its chunks, and how to give it up unread. */
interface Opened {
  chunks: AsyncIterable<Buffer>;
  cancel(): void;
}

function openBody(entry: TreeEntry): Opened | undefined {
  if (entry.type !== 'file') return undefined;
  if (entry.chunks) {
    const body = entry.chunks();
    return { chunks: body, cancel: () => body.cancel() };
  }
  if (!entry.open) return undefined;
  const stream = entry.open();
  return { chunks: stream as AsyncIterable<Buffer>, cancel: () => stream.destroy() };
}

/** Pieces smaller than this are gathered into one chunk (a header, a small file, its padding). */
const SMALL = 16 * 1024;
/** A gathered chunk is handed on once it holds this much. */
const GATHER = 64 * 1024;

const ZEROS = Buffer.alloc(1024);

/**
 * Streams the entries as a tar archive. Entries must already be sorted and safe. A file with
 * `chunks` or `open` is streamed (never whole in memory) and must have the declared size; others are read.
 */
export function tarStreamOf(entries: readonly TreeEntry[], options: TarWriteOptions): Readable {
  return Readable.from(tarChunks(entries, options), { objectMode: false, highWaterMark: GATHER });
}

/**
 * The whole archive in memory, for small layers, which are hashed before anything is written (a
 * rebuild that has them writes nothing). Its length is known before any body arrives, so the
 * buffer is allocated once and each body is copied straight into its place: a git blob by the
 * reader itself (`copyInto`), with no stream, queue or promise per chunk, which was most of what
 * a monorepo's 2,200 small files cost. Bodies only `read` can give are read first, their lengths
 * being what the headers say.
 */
export async function tarBytes(entries: readonly TreeEntry[], options: TarWriteOptions): Promise<Buffer> {
  const mtime = new Date(options.mtime * 1000);
  const read = await Promise.all(entries.map((e) => (e.type === 'file' && !e.copyInto && !e.chunks && !e.open ? readBody(e) : undefined)));
  const { headers, offsets, total } = layoutOf(entries, (entry, i) => (entry.type === 'file' ? (read[i]?.length ?? entry.size) : 0), mtime);
  // Zeroed: the padding after each body and the two blocks that end the archive stay zero.
  const archive = Buffer.alloc(total + ZEROS.length);
  const fills: Promise<void>[] = [];
  for (const [i, entry] of entries.entries()) {
    let at = (offsets[i] as number) - (headers[i] as Buffer[]).reduce((sum, b) => sum + b.length, 0);
    for (const block of headers[i] as Buffer[]) at += block.copy(archive, at);
    const body = read[i];
    if (body) body.copy(archive, at);
    else if (entry.type === 'file') fills.push(fillBody(entry, archive, at));
  }
  await settleAll(fills);
  return archive;
}

/**
 * Where each entry's body begins in the archive tarBytes and tarStreamOf write for `entries`
 * (sorted, with their sizes as listed): what a later layer can copy an unchanged body from.
 */
export function bodyOffsets(entries: readonly TreeEntry[], options: TarWriteOptions): number[] {
  return layoutOf(entries, (entry) => (entry.type === 'file' ? entry.size : 0), new Date(options.mtime * 1000)).offsets;
}

/** Each entry's header blocks and the offset of its body, and the archive's length before its two end blocks. */
function layoutOf(
  entries: readonly TreeEntry[],
  sizeOf: (entry: TreeEntry, index: number) => number,
  mtime: Date,
): { headers: Buffer[][]; offsets: number[]; total: number } {
  const headers: Buffer[][] = [];
  const offsets: number[] = [];
  let total = 0;
  for (const [i, entry] of entries.entries()) {
    const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
    const size = sizeOf(entry, i);
    const linkname = entry.type === 'symlink' ? (entry.linkTarget ?? '') : '';
    const blocks = headerBlocks({ name, mode: entry.mode, type: entry.type, size, linkname, mtime });
    headers.push(blocks);
    for (const block of blocks) total += block.length;
    offsets.push(total);
    total += size + padding(size).length;
  }
  return { headers, offsets, total };
}

function readBody(entry: TreeEntry): Promise<Buffer> {
  return entry.read ? entry.read() : Promise.resolve(ZEROS.subarray(0, 0));
}

/** Copies a streamed body of exactly `entry.size` bytes into `archive` at `offset`. */
async function fillBody(entry: TreeEntry, archive: Buffer, offset: number): Promise<void> {
  let length = 0;
  if (entry.copyInto) length = await entry.copyInto(archive, offset, entry.size);
  else {
    // Leaving the loop early (a body longer than listed) gives the rest of it up.
    for await (const chunk of openBody(entry)?.chunks ?? []) {
      if (length + chunk.length > entry.size) throw sizeMismatch(entry);
      length += chunk.copy(archive, offset + length);
    }
  }
  if (length !== entry.size) throw sizeMismatch(entry);
}

/** Like Promise.all, but rejects only once every body has settled: none is still being copied into the buffer. */
async function settleAll(fills: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(fills)).find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/**
 * The archive of `entries` as chunks of bytes; {@link tarStreamOf} over an async generator. Pieces
 * under 16 KiB are gathered into chunks of about 64 KiB.
 */
async function* tarChunks(entries: readonly TreeEntry[], options: TarWriteOptions): AsyncGenerator<Buffer> {
  const small = SMALL;
  const gather = GATHER;
  const mtime = new Date(options.mtime * 1000);
  const opened = new Map<number, Opened>();
  let ahead = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const take = (piece: Buffer) => {
    pending.push(piece);
    pendingBytes += piece.length;
  };
  const gathered = () => {
    const chunk = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return chunk;
  };
  try {
    for (const [index, entry] of entries.entries()) {
      if (ahead - index <= LOOKAHEAD / 2) {
        for (; ahead < entries.length && ahead <= index + LOOKAHEAD; ahead++) {
          const body = openBody(entries[ahead] as TreeEntry);
          if (body) opened.set(ahead, body);
        }
      }
      const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
      const body = opened.get(index);
      opened.delete(index);
      if (body) {
        for (const block of headerBlocks({ name, mode: entry.mode, type: 'file', size: entry.size, linkname: '', mtime })) take(block);
        let written = 0;
        for await (const chunk of body.chunks) {
          written += chunk.length;
          if (written > entry.size) throw sizeMismatch(entry);
          if (chunk.length < small) take(chunk);
          else {
            if (pendingBytes > 0) yield gathered();
            yield chunk;
          }
          if (pendingBytes >= gather) yield gathered();
        }
        if (written !== entry.size) throw sizeMismatch(entry);
        take(padding(written));
      } else if (entry.type === 'file') {
        const bytes = entry.read ? await entry.read() : ZEROS.subarray(0, 0);
        for (const block of headerBlocks({ name, mode: entry.mode, type: 'file', size: bytes.length, linkname: '', mtime })) take(block);
        if (bytes.length < small) take(bytes);
        else {
          if (pendingBytes > 0) yield gathered();
          yield bytes;
        }
        take(padding(bytes.length));
      } else if (entry.type === 'symlink') {
        for (const block of headerBlocks({ name, mode: entry.mode, type: 'symlink', size: 0, linkname: entry.linkTarget ?? '', mtime }))
          take(block);
      } else {
        for (const block of headerBlocks({ name, mode: entry.mode, type: 'directory', size: 0, linkname: '', mtime })) take(block);
      }
      if (pendingBytes >= gather) yield gathered();
    }
    take(ZEROS); // the end of the archive: two zero blocks
    yield gathered();
  } finally {
    for (const unread of opened.values()) unread.cancel();
  }
}

function sizeMismatch(entry: TreeEntry): UnsafeSourceError {
  return new UnsafeSourceError(`${entry.path}: its contents are not the ${entry.size} bytes listed (Size mismatch)`, entry.path);
}

/** Zeros up to the next 512-byte block boundary after `size` bytes of body. */
function padding(size: number): Buffer {
  const rest = size & 511;
  return ZEROS.subarray(0, rest === 0 ? 0 : 512 - rest);
}

/** One member's header as written. */
interface Header {
  name: string;
  mode: number;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  linkname: string;
  mtime: Date;
}

const TYPEFLAG = { file: 0, symlink: 2, directory: 5, pax: 72 } as const;

/**
 * The header block(s) of one member: a ustar header, or — when the name is not ASCII or too long
 * for ustar's name and prefix fields, or the link target is over 100 bytes — a PAX header holding
 * them, then the member's own header named `PaxHeader` (tar-stream's layout, kept for the digests).
 * A mode of 0 is written as 0755 for directories and 0644 otherwise, as tar-stream did.
 */
function headerBlocks(header: Header): Buffer[] {
  const mode = header.mode || (header.type === 'directory' ? 0o755 : 0o644);
  const size = header.type === 'symlink' ? 0 : header.size;
  const plain = encodeHeader({ ...header, mode, size, typeflag: TYPEFLAG[header.type] });
  if (plain) return [plain];
  let records = paxRecord(` path=${header.name}\n`);
  if (header.linkname) records += paxRecord(` linkpath=${header.linkname}\n`);
  const pax = Buffer.from(records);
  const linkname = header.linkname && 'PaxHeader';
  const paxHeader = encodeHeader({ name: 'PaxHeader', mode, size: pax.length, mtime: header.mtime, linkname, typeflag: TYPEFLAG.pax });
  const own = encodeHeader({ name: 'PaxHeader', mode, size, mtime: header.mtime, linkname, typeflag: TYPEFLAG[header.type] });
  if (!paxHeader || !own) throw new Error('tar: a PaxHeader header did not fit'); // cannot happen: the names are short ASCII
  return [paxHeader, pax, padding(pax.length), own];
}

/** `<length> key=value\n`, the length counting itself (tar-stream's arithmetic, float and all). */
function paxRecord(text: string): string {
  const length = Buffer.byteLength(text);
  let digits = Math.floor(Math.log(length) / Math.log(10)) + 1;
  if (length + digits >= 10 ** digits) digits++;
  return `${length + digits}${text}`;
}

/** A ustar header block, or undefined when the name or link target does not fit one (then PAX). */
function encodeHeader(h: {
  name: string;
  mode: number;
  size: number;
  mtime: Date;
  linkname: string;
  typeflag: number;
}): Buffer | undefined {
  let name = h.name;
  let prefix = '';
  if (Buffer.byteLength(name) !== name.length) return undefined;
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return undefined;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (prefix.length > 155) return undefined;
  if (h.linkname && Buffer.byteLength(h.linkname) > 100) return undefined;
  // What every header of the archive shares comes from the template; only the fields that vary
  // are written and summed (a cold process sums slowly: 512 bytes for each of 2,200 headers was
  // a tenth of packing a monorepo).
  const shared = templateFor((h.mtime.getTime() / 1000) | 0);
  const block = Buffer.allocUnsafe(512);
  shared.block.copy(block);
  let sum = shared.sum;
  sum += sumOf(block, 0, block.write(name, 0, 'latin1'));
  octal(block, 100, h.mode & 0o7777, 6);
  sum += sumOf(block, 100, 107);
  if (h.size.toString(8).length <= 11) octal(block, 124, h.size, 11);
  else base256(block, 124, h.size);
  sum += sumOf(block, 124, 136);
  block[156] = 48 + h.typeflag;
  sum += 48 + h.typeflag;
  if (h.linkname) sum += sumOf(block, 157, 157 + block.write(h.linkname, 157));
  if (prefix) sum += sumOf(block, 345, 345 + block.write(prefix, 345, 'latin1'));
  octal(block, 148, sum, 6);
  return block;
}

const MAGIC = Buffer.from('ustar\u000000', 'latin1');

/** A header with only the fields every member shares (ids, the clock, magic, devices), and its checksum. */
interface Template {
  block: Buffer;
  /** The checksum of `block`, its checksum field counted as eight spaces. */
  sum: number;
  mtime: number;
}

/** Templates by mtime: an archive has one clock, and a commit packs a few archives at once. */
const templates = new Map<number, Template>();

function templateFor(mtime: number): Template {
  const known = templates.get(mtime);
  if (known) return known;
  if (templates.size >= 16) templates.clear();
  const block = Buffer.alloc(512);
  octal(block, 108, 0, 6); // uid
  octal(block, 116, 0, 6); // gid
  octal(block, 136, mtime, 11);
  block.set(MAGIC, 257); // "ustar\0" and version "00"
  octal(block, 329, 0, 6); // devmajor
  octal(block, 337, 0, 6); // devminor
  const made = { block, sum: checksum(block), mtime };
  templates.set(mtime, made);
  return made;
}

function sumOf(block: Buffer, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += block[i] as number;
  return sum;
}

/** `n` octal digits and a space at `offset` (all sevens when the value does not fit), as tar-stream wrote them. */
function octal(block: Buffer, offset: number, value: number, n: number): void {
  if (Number.isInteger(value) && value >= 0 && value < 8 ** n) {
    let rest = value;
    for (let i = n - 1; i >= 0; i--) {
      block[offset + i] = 48 + (rest & 7);
      rest = Math.floor(rest / 8);
    }
  } else {
    // Negative (an mtime past 2038 after `| 0`) or too large: tar-stream's string arithmetic.
    const digits = value.toString(8);
    block.write(digits.length > n ? '7'.repeat(n) : `${'0'.repeat(n - digits.length)}${digits}`, offset, 'latin1');
  }
  block[offset + n] = 32;
}

/** Sizes past 8 GiB in base-256 (the GNU extension tar-stream used). */
function base256(block: Buffer, offset: number, size: number): void {
  block[offset] = 0x80;
  let rest = size;
  for (let i = 11; i > 0; i--) {
    block[offset + i] = rest & 0xff;
    rest = Math.floor(rest / 0x100);
  }
}

/** The header's checksum: every byte summed, the checksum field itself counted as eight spaces. */
function checksum(block: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += block[i] as number;
  for (let i = 156; i < 512; i++) sum += block[i] as number;
  return sum;
}
