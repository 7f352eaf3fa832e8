import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { TreeEntry } from '../tree/tree.js';
import { UnsafeSourceError } from '../util/errors.js';

/**
 * The owner of tar-stream. Writing is deterministic by construction: every header field is set on
 * purpose (tar-stream fills an unset mtime with *now* and unset ids with defaults), and entries
 * are written in the order given, which callers sort.
 */

export interface TarWriteOptions {
  /** Seconds since the epoch for every entry's mtime: the bake clock. */
  mtime: number;
}

/** Streams the entries as a tar archive. Entries must already be sorted and safe. */
export function tarStreamOf(entries: readonly TreeEntry[], options: TarWriteOptions): Readable {
  const pack = tarStream.pack();
  const mtime = new Date(options.mtime * 1000);
  (async () => {
    for (const entry of entries) {
      const header = {
        name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        mode: entry.mode,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        mtime,
        devmajor: 0,
        devminor: 0,
        linkname: '',
      };
      if (entry.type === 'file') {
        const body = entry.read ? await entry.read() : Buffer.alloc(0);
        await addEntry(pack, { ...header, type: 'file', size: body.length }, body);
      } else if (entry.type === 'symlink') {
        await addEntry(pack, { ...header, type: 'symlink', size: 0, linkname: entry.linkTarget ?? '' });
      } else {
        await addEntry(pack, { ...header, type: 'directory', size: 0 });
      }
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as unknown as Readable;
}

function addEntry(pack: tarStream.Pack, header: tarStream.Header, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (error?: Error | null) => (error ? reject(error) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

/**
 * Reads a tar archive into tree entries held in memory. Hard links become copies of their target;
 * device files, fifos and anything else that cannot be baked safely are refused, naming the path.
 * `label` names the archive in errors.
 */
export async function readTar(input: Readable | Buffer, label: string): Promise<TreeEntry[]> {
  const extract = tarStream.extract();
  const entries: TreeEntry[] = [];
  const byPath = new Map<string, TreeEntry>();
  const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
  source.on('error', (error) => extract.destroy(error));
  source.pipe(extract);
  for await (const item of extract) {
    const header = item.header;
    const chunks: Buffer[] = [];
    for await (const chunk of item) chunks.push(chunk as Buffer);
    const path = normalizeTarPath(header.name);
    if (path === '') continue;
    const mode = (header.mode ?? 0o644) & 0o7777;
    let entry: TreeEntry;
    switch (header.type) {
      case 'file':
      case 'contiguous-file': {
        const body = Buffer.concat(chunks);
        entry = { path, type: 'file', mode, size: body.length, read: async () => body };
        break;
      }
      case 'directory':
        entry = { path, type: 'directory', mode, size: 0 };
        break;
      case 'symlink':
        entry = { path, type: 'symlink', mode: 0o777, size: 0, linkTarget: header.linkname ?? '' };
        break;
      case 'link': {
        const target = byPath.get(normalizeTarPath(header.linkname ?? ''));
        if (!target || target.type !== 'file') {
          throw new UnsafeSourceError(`${label}: hard link ${path} points at ${header.linkname}, which is not a file earlier in the archive`, path);
        }
        entry = { ...target, path, mode };
        break;
      }
      default:
        throw new UnsafeSourceError(
          `${label}: ${path} is a ${header.type ?? 'special'} entry; only files, directories and symlinks can be baked (remove it from the source)`,
          path,
        );
    }
    byPath.set(path, entry);
    entries.push(entry);
  }
  return [...byPath.values()];
}

/** `./a/b/` → `a/b`. Leaves `..` and absolute paths for the safety check to refuse. */
function normalizeTarPath(name: string): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  if (path === '.') return '';
  return path.replace(/\/+$/, '');
}

/** A file to put in an archive whose body is streamed (blobs from the store). */
export interface ArchiveFile {
  name: string;
  size: number;
  mode?: number;
  body: () => Readable | Buffer;
}

/**
 * Streams plain files as a tar archive (for `docker load` archives and archive uploads). Headers
 * are fixed (mtime 0, root-owned) so the same files give the same archive.
 */
export function archiveOf(files: readonly ArchiveFile[]): Readable {
  const pack = tarStream.pack();
  (async () => {
    for (const file of files) {
      const header = { name: file.name, size: file.size, mode: file.mode ?? 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0), type: 'file' as const };
      const body = file.body();
      if (Buffer.isBuffer(body)) {
        await addEntry(pack, { ...header, devmajor: 0, devminor: 0, linkname: '' }, body);
        continue;
      }
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry(header, (error) => (error ? reject(error) : resolve()));
        body.on('error', reject);
        body.pipe(entry);
      });
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error as Error));
  return pack as unknown as Readable;
}

/**
 * Finds one member of a tar archive (on disk) and streams it to `sink`; resolves false if absent.
 * Used to lift a layer out of a `docker save` archive without holding it in memory.
 */
export async function extractMember(archive: Readable, name: string, sink: (member: Readable) => Promise<void>): Promise<boolean> {
  const extract = tarStream.extract();
  archive.on('error', (error) => extract.destroy(error));
  archive.pipe(extract);
  let found = false;
  for await (const item of extract) {
    if (!found && item.header.name === name) {
      found = true;
      await sink(item as unknown as Readable);
    } else {
      item.resume();
    }
  }
  return found;
}

/** Reads one small member of a tar archive into memory (e.g. manifest.json). */
export async function readMember(archive: Readable, name: string): Promise<Buffer | undefined> {
  let body: Buffer | undefined;
  await extractMember(archive, name, async (member) => {
    const chunks: Buffer[] = [];
    for await (const chunk of member) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
  });
  return body;
}
