import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BakeError, UnsafeSourceError } from '../util/errors.js';
import { TreePaths } from './tree-paths.js';

/**
 * Builds a tree of files in a fresh directory, safe by construction: every path is checked, every
 * parent must be a directory this writer made (so nothing is ever written through a symlink, one
 * it made or one it found), files are created with O_EXCL | O_NOFOLLOW, and a path may be written
 * once. Entries may come in any order; missing parents are made as 0755 directories. setuid,
 * setgid and sticky bits are never written: a tree on disk is data, not a way to run as its owner.
 */
export interface TreeWriter {
  /** A directory with `mode`'s permission bits (owner rwx always added, so the tree can be filled and removed). */
  directory(path: string, mode: number): Promise<void>;
  /** A regular file with `mode`'s permission bits; a Readable body is streamed, never held whole. */
  file(path: string, mode: number, body: Buffer | Readable): Promise<void>;
  /** A symlink; its target is stored as given and never followed here. */
  symlink(path: string, target: string): Promise<void>;
  /** Directories made only as parents of other entries (0755), never named themselves. */
  impliedDirectories(): string[];
}

const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Opens a writer on `dir`, which must not exist yet (its parent must) or be an empty directory.
 * Methods throw UnsafeSourceError for an unsafe or repeated path, or one under a link or a file,
 * and BakeError when the file system fails; messages name `label` and the relative path, never
 * `dir`.
 */
export async function openTreeWriter(dir: string, label: string): Promise<TreeWriter> {
  await claim(dir, label);
  const paths = new TreePaths(label);

  const fail = (path: string, error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'EEXIST') {
      throw new UnsafeSourceError(`${label}: ${path} already exists (case-insensitive file system, or a repeated entry)`, path, {
        cause: error,
      });
    }
    throw new BakeError(`${label}: cannot write ${path} (${code})`, { cause: error });
  };

  async function makeParents(parents: readonly string[]): Promise<void> {
    for (const parent of parents) await mkdir(join(dir, parent), { mode: 0o755 }).catch((error: unknown) => fail(parent, error));
  }

  return {
    async directory(path, mode) {
      const { parents, existed } = paths.directory(path);
      await makeParents(parents);
      if (!existed) await mkdir(join(dir, path), { mode: 0o700 }).catch((error: unknown) => fail(path, error));
      await chmod(join(dir, path), (mode & 0o777) | 0o700).catch((error: unknown) => fail(path, error));
    },
    async file(path, mode, body) {
      await makeParents(paths.leaf(path, 'file'));
      const handle = await open(join(dir, path), CREATE_FILE, 0o600).catch((error: unknown) => fail(path, error));
      // A failing body (a truncated archive) is the caller's to classify; a failing write is ours.
      const write = (data: Buffer) => handle.writeFile(data).catch((error: unknown) => fail(path, error));
      try {
        await handle.chmod(mode & 0o777).catch((error: unknown) => fail(path, error));
        if (Buffer.isBuffer(body)) await write(body);
        else for await (const chunk of body) await write(chunk as Buffer);
      } finally {
        await handle.close();
      }
    },
    async symlink(path, target) {
      await makeParents(paths.leaf(path, 'symlink'));
      await symlink(target, join(dir, path)).catch((error: unknown) => fail(path, error));
    },
    impliedDirectories: () => paths.implied(),
  };
}

/** Makes `dir`, or accepts it if it is already an empty real directory (a fresh mkdtemp). */
async function claim(dir: string, label: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new BakeError(`${label}: cannot create the directory to write into`, { cause: error });
  }
  const info = await lstat(dir);
  if (!info.isDirectory() || (await readdir(dir)).length > 0) {
    throw new BakeError(`${label}: the directory to write into is not a fresh, empty directory`);
  }
}
