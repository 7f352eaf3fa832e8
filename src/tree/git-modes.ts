import type { TreeEntry } from './tree.js';

/**
 * The mode git would give an entry: files 0755 when any execute bit is set, else 0644;
 * directories 0755; symlinks 0777. setuid, setgid, sticky and group/other write bits never
 * survive, so a service's files in an image are the same whether they came from git, a plain
 * directory or an upload.
 */
export function gitMode(type: TreeEntry['type'], mode: number): number {
  if (type === 'directory') return 0o755;
  if (type === 'symlink') return 0o777;
  return mode & 0o111 ? 0o755 : 0o644;
}

/** The entries with git's modes (see gitMode); entries already so are returned as they are. */
export function withGitModes(entries: readonly TreeEntry[]): TreeEntry[] {
  return entries.map((entry) => {
    const mode = gitMode(entry.type, entry.mode);
    return mode === entry.mode ? entry : { ...entry, mode };
  });
}
