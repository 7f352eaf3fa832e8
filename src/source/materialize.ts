import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sortEntries, type TreeEntry } from '../tree/tree.js';

/** Writes (already safe) entries into an empty directory, so a build command can run on them. */
export async function materialize(entries: readonly TreeEntry[], dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of sortEntries(entries)) {
    const target = join(dir, entry.path);
    if (entry.type === 'directory') {
      await mkdir(target, { recursive: true });
      await chmod(target, entry.mode | 0o700);
    } else if (entry.type === 'symlink') {
      await mkdir(join(target, '..'), { recursive: true });
      await symlink(entry.linkTarget ?? '', target);
    } else {
      await mkdir(join(target, '..'), { recursive: true });
      await writeFile(target, entry.read ? await entry.read() : Buffer.alloc(0), { mode: entry.mode });
      await chmod(target, entry.mode);
    }
  }
}
