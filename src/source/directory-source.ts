import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { UnsafeSourceError } from '../util/errors.js';
import type { TreeEntry } from '../tree/tree.js';

export interface DirectoryOptions {
  /** Names the source in errors. */
  label: string;
  /** Top-level names to leave out (e.g. `.git`). */
  exclude?: readonly string[];
}

/**
 * Walks a plain directory into tree entries; file contents are read lazily. Symlinks are read,
 * never followed. Modes are as found (services get git's modes when packed: see withGitModes).
 * Throws UnsafeSourceError on a device, fifo or socket, naming it relative to `root`.
 */
export async function readDirectoryTree(root: string, options: DirectoryOptions): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const exclude = new Set(options.exclude ?? ['.git']);
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      if (rel === '' && exclude.has(name)) continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = join(root, path);
      const info = await lstat(full);
      const mode = info.mode & 0o7777;
      if (info.isDirectory()) {
        entries.push({ path, type: 'directory', mode, size: 0 });
        await walk(path);
      } else if (info.isFile()) {
        entries.push({ path, type: 'file', mode, size: info.size, read: () => readFile(full) });
      } else if (info.isSymbolicLink()) {
        entries.push({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget: await readlink(full) });
      } else {
        throw new UnsafeSourceError(
          `${options.label}: ${path} is a device, fifo or socket; only files, directories and symlinks can be baked (remove it)`,
          path,
        );
      }
    }
  }
  await walk('');
  return entries;
}
