import { sortEntries, type TreeEntry } from '../tree/tree.js';
import { openTreeWriter } from '../tree/tree-writer.js';

/**
 * Writes entries into `dir` (which must not exist yet, or be empty) so a build command can run on
 * them. Safe by construction whatever the entries are: every parent must be a directory written
 * here, so no link is ever followed, and a path is written once (see openTreeWriter). Throws
 * UnsafeSourceError naming `label` and the offending path.
 */
export async function materialize(entries: readonly TreeEntry[], dir: string, label = 'tree'): Promise<void> {
  const writer = await openTreeWriter(dir, label);
  for (const entry of sortEntries(entries)) {
    if (entry.type === 'directory') await writer.directory(entry.path, entry.mode);
    else if (entry.type === 'symlink') await writer.symlink(entry.path, entry.linkTarget ?? '');
    else await writer.file(entry.path, entry.mode, entry.read ? await entry.read() : Buffer.alloc(0));
  }
}
