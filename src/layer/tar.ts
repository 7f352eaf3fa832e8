import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { TreeEntry } from '../tree/tree.js';
import { UnsafeSourceError } from '../util/errors.js';

/**
 * The owner of tar-stream, which reads archives here (and writes `docker load` archives). Layers
 * are written by tar-writer.ts, deterministic by construction: every header field set on purpose,
 * entries in the order given, which callers sort.
 */
export { tarStreamOf, type TarWriteOptions } from './tar-writer.js';

function addEntry(pack: tarStream.Pack, header: tarStream.Header, body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (error?: Error | null) => (error ? reject(error) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

/** What a tar member is, for bake: the three kinds a tree holds, a hard link, or something else. */
export type TarMemberType = 'file' | 'directory' | 'symlink' | 'link' | 'special';

/** One member of an archive as read, after PAX and GNU long-name headers are applied. */
export interface TarMember {
  /** `./a/b/` → `a/b`; `..` and absolute paths are left for the safety checks to refuse. */
  path: string;
  type: TarMemberType;
  /** The header's own type name (`fifo`, `character-device`…), for messages. */
  headerType: string;
  /** Permission bits as stored (0o7777); callers normalize. */
  mode: number;
  /** Declared size of the body. */
  size: number;
  /** Symlink or hard-link target, as stored. */
  linkTarget: string;
  /** The member's bytes; whatever the consumer leaves unread is drained before the next member. */
  body: Readable;
}

/**
 * Streams the members of a tar archive, one at a time. Throws (from the iteration) whatever the
 * input or the tar parser throws: a corrupt header, a truncated archive.
 */
export async function* tarMembers(input: Readable): AsyncGenerator<TarMember> {
  const extract = tarStream.extract();
  input.on('error', (error) => extract.destroy(error));
  input.pipe(extract);
  try {
    for await (const item of extract) {
      const header = item.header;
      const type = memberType(header.type);
      // tar-stream's entries are streamx streams: no readableEnded, so watch for the end here.
      const body = item as unknown as Readable;
      let ended = false;
      const drained = new Promise<void>((resolve, reject) => {
        const end = () => {
          ended = true;
          resolve();
        };
        body.once('end', end).once('close', end).once('error', reject);
      });
      drained.catch(() => {});
      yield {
        path: normalizeTarPath(header.name),
        type,
        headerType: header.type ?? 'unknown',
        mode: (header.mode ?? 0o644) & 0o7777,
        size: header.size ?? 0,
        linkTarget: header.linkname ?? '',
        body,
      };
      if (!ended) body.resume();
      await drained;
    }
  } finally {
    if (!extract.destroyed) extract.destroy();
    input.unpipe(extract);
  }
}

function memberType(type: tarStream.Header['type']): TarMemberType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'link';
    default:
      return 'special';
  }
}

/**
 * Reads a tar archive (a base's root filesystem) into tree entries held in memory. Hard links
 * become copies of their target; device files, fifos and anything else that cannot be baked safely
 * are refused, and so is a path named twice. `label` names the archive in errors. Modes are kept:
 * a root filesystem's own (a sticky /tmp) are part of it.
 */
export async function readTar(input: Readable | Buffer, label: string): Promise<TreeEntry[]> {
  const byPath = new Map<string, TreeEntry>();
  const source = Buffer.isBuffer(input) ? Readable.from([input]) : input;
  for await (const member of tarMembers(source)) {
    const { path, mode } = member;
    if (path === '') {
      member.body.resume();
      continue;
    }
    if (byPath.has(path)) throw new UnsafeSourceError(`${label}: path ${path} appears twice (an archive may name each path once)`, path);
    let entry: TreeEntry;
    switch (member.type) {
      case 'file': {
        const chunks: Buffer[] = [];
        for await (const chunk of member.body) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks);
        entry = { path, type: 'file', mode, size: body.length, read: async () => body };
        break;
      }
      case 'directory':
        entry = { path, type: 'directory', mode, size: 0 };
        break;
      case 'symlink':
        entry = { path, type: 'symlink', mode: 0o777, size: 0, linkTarget: member.linkTarget };
        break;
      case 'link': {
        const target = byPath.get(normalizeTarPath(member.linkTarget));
        if (target?.type !== 'file') {
          throw new UnsafeSourceError(
            `${label}: hard link ${path} points at ${member.linkTarget}, which is not a file earlier in the archive`,
            path,
          );
        }
        entry = { ...target, path, mode };
        break;
      }
      default:
        throw new UnsafeSourceError(
          `${label}: ${path} is a ${member.headerType} entry; only files, directories and symlinks can be baked (remove it from the source)`,
          path,
        );
    }
    byPath.set(path, entry);
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
      const header = {
        name: file.name,
        size: file.size,
        mode: file.mode ?? 0o644,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        mtime: new Date(0),
        type: 'file' as const,
      };
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
