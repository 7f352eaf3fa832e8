import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { gitMode } from '../tree/git-modes.js';
import { assertSafeEntries, assertSafePath } from '../tree/safe-entries.js';
import type { TreeEntry } from '../tree/tree.js';
import { openMemoryTreeWriter } from '../tree/memory-tree-writer.js';
import { openTreeWriter, type TreeWriter } from '../tree/tree-writer.js';
import type { Digest } from '../util/digest.js';
import { BakeError, UnsafeSourceError } from '../util/errors.js';
import { tarMembers } from './tar.js';

/** Bounds on what one archive may hold. Each is checked before the bytes it bounds are read. */
export interface SafeTarLimits {
  /** Bytes of the archive itself (headers and padding included). Default 1 GiB. */
  maxBytes: number;
  /** Members. Default 100 000. */
  maxEntries: number;
}

export interface SafeTarOptions {
  /** Names the archive in errors, e.g. `upload sha256:1a2b3c…`. */
  label: string;
  limits?: Partial<SafeTarLimits>;
}

export interface SafeTarResult {
  /** What was written, with git's modes; `read` reads a file back from the directory. */
  entries: TreeEntry[];
  /** sha256 of the archive's bytes exactly as received, to check against the digest a client sent. */
  digest: Digest;
  bytes: number;
}

/** An archive over one of the limits: the service answers 413. */
export class TarLimitError extends UnsafeSourceError {
  override name = 'TarLimitError';
  override readonly kind: string = 'too-large';
}

const DEFAULTS: SafeTarLimits = { maxBytes: 1 << 30, maxEntries: 100_000 };

/**
 * Unpacks a tar stream (an upload of a service's tree) into `dir`, which must not exist yet (its
 * parent must) or be empty, with bounded memory: file bodies stream to disk. Safe by
 * construction: paths are checked as they arrive, nothing is written under a symlink or through
 * one, whatever the order of members; duplicates, hard links, devices and fifos are refused;
 * modes become git's (0644/0755 files, 0755 directories: no setuid, setgid or sticky bits); PAX
 * and GNU long names are applied before any check. At the end, every symlink must resolve inside
 * the tree. On any failure `dir` is removed and the error is an UnsafeSourceError (TarLimitError
 * for a limit) naming `label` and the member, never a path on this machine.
 */
export async function readSafeTar(input: Readable, dir: string, options: SafeTarOptions): Promise<SafeTarResult> {
  try {
    return await readMembers(
      input,
      () => openTreeWriter(dir, options.label),
      (path) => () => readFile(join(dir, path)),
      options,
    );
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * {@link readSafeTar} into memory instead of a directory, for a small archive (the caller bounds
 * `limits.maxBytes`: every body is held). The same checks and errors; nothing touches the disk.
 */
export async function readSafeTarInMemory(input: Readable, options: SafeTarOptions): Promise<SafeTarResult> {
  const writer = openMemoryTreeWriter(options.label);
  const reader = (path: string) => {
    const body = writer.body(path) ?? Buffer.alloc(0);
    return async () => body;
  };
  return readMembers(input, async () => writer, reader, options);
}

/**
 * The members of the archive, checked as they come, through the writer `open` makes (opened once
 * the input's errors are listened to); `reader` gives each file entry, once written, its `read`.
 */
async function readMembers(
  input: Readable,
  open: () => Promise<TreeWriter>,
  reader: (path: string) => () => Promise<Buffer>,
  options: SafeTarOptions,
): Promise<SafeTarResult> {
  const limits = { ...DEFAULTS, ...options.limits };
  const { label } = options;
  const meter = new Meter(limits.maxBytes, label);
  input.on('error', (error) => meter.destroy(error));
  const entries: TreeEntry[] = [];
  try {
    const writer = await open();
    // Bytes flow only once tarMembers listens (it starts within this same tick), so a limit or
    // input error always reaches the loop below.
    input.pipe(meter);
    for await (const member of tarMembers(meter)) {
      if (member.path === '') continue; // `./` itself
      if (entries.length >= limits.maxEntries)
        throw new TarLimitError(`${label}: more than ${limits.maxEntries} entries (split the service, or raise the limit)`, member.path);
      assertSafePath(member.path, label);
      const { path } = member;
      switch (member.type) {
        case 'file': {
          if (member.size > limits.maxBytes)
            throw new TarLimitError(
              `${label}: ${path} declares ${member.size} bytes, more than the ${limits.maxBytes} an archive may hold`,
              path,
            );
          const mode = gitMode('file', member.mode);
          await writer.file(path, mode, member.body);
          entries.push({ path, type: 'file', mode, size: member.size, read: reader(path) });
          break;
        }
        case 'directory':
          await writer.directory(path, 0o755);
          entries.push({ path, type: 'directory', mode: 0o755, size: 0 });
          break;
        case 'symlink':
          if (member.linkTarget === '' || member.linkTarget.includes('\0'))
            throw new UnsafeSourceError(`${label}: symlink ${path} has an empty or invalid target`, path);
          await writer.symlink(path, member.linkTarget);
          entries.push({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget: member.linkTarget });
          break;
        case 'link':
          throw new UnsafeSourceError(
            `${label}: ${path} is a hard link (to ${member.linkTarget}); archives of a service may hold files, directories and symlinks only`,
            path,
          );
        default:
          throw new UnsafeSourceError(
            `${label}: ${path} is a ${member.headerType} entry; only files, directories and symlinks can be baked (remove it from the source)`,
            path,
          );
      }
    }
    for (const path of writer.impliedDirectories()) entries.push({ path, type: 'directory', mode: 0o755, size: 0 });
    // Written entries can no longer change: now every link is judged against the whole tree.
    assertSafeEntries(entries, { label, links: 'contained' });
    return { entries, digest: meter.digest(), bytes: meter.bytes };
  } catch (error) {
    input.unpipe(meter);
    meter.destroy();
    if (error instanceof BakeError) throw error;
    throw new UnsafeSourceError(`${label}: not a valid tar archive (${(error as Error).message})`, '', { cause: error });
  }
}

/** Counts and hashes the archive's bytes as they pass, and stops the stream past the limit. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly maxBytes: number,
    private readonly label: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new TarLimitError(`${this.label}: larger than ${this.maxBytes} bytes`, ''));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
