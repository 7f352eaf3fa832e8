import { UnsafeSourceError } from '../util/errors.js';
import { assertSafePath } from './safe-entries.js';

type Made = 'directory' | 'implied' | 'file' | 'symlink';

/**
 * What a tree being written holds so far, path by path: the rules every tree writer (on disk,
 * in memory) applies before it writes anything. A path is checked safe and may be written once;
 * nothing may lie under a file or a symlink (so nothing is ever written through a link, whatever
 * the order of entries); a directory named after entries were put in it is accepted once. Errors
 * are UnsafeSourceError naming `label` and the relative path.
 */
export class TreePaths {
  private readonly made = new Map<string, Made>();

  constructor(private readonly label: string) {}

  /**
   * Checks that `path` may become a file or a symlink, and records it. Resolves with the parents
   * not made yet, outermost first, now recorded as implied directories: the writer makes them.
   */
  leaf(path: string, kind: 'file' | 'symlink'): string[] {
    assertSafePath(path, this.label);
    const before = this.made.get(path);
    if (before === 'implied')
      throw new UnsafeSourceError(`${this.label}: ${path} is a directory of earlier entries and cannot also be a file or link`, path);
    if (before !== undefined) this.twice(path);
    const parents = this.parents(path);
    this.made.set(path, kind);
    return parents;
  }

  /**
   * Checks that `path` may become a directory, and records it. `parents` as for {@link leaf};
   * `existed` when it was already made as a parent of earlier entries (it is only named now).
   */
  directory(path: string): { parents: string[]; existed: boolean } {
    assertSafePath(path, this.label);
    const before = this.made.get(path);
    if (before !== undefined && before !== 'implied') this.twice(path);
    const parents = this.parents(path);
    this.made.set(path, 'directory');
    return { parents, existed: before === 'implied' };
  }

  /** Directories made only as parents of other entries, never named themselves. */
  implied(): string[] {
    return [...this.made].filter(([, kind]) => kind === 'implied').map(([path]) => path);
  }

  private parents(path: string): string[] {
    const parts = path.split('/');
    const missing: string[] = [];
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const kind = this.made.get(parent);
      if (kind === 'directory' || kind === 'implied') continue;
      if (kind === 'symlink') {
        throw new UnsafeSourceError(
          `${this.label}: ${path} lies under the symlink ${parent}; an entry may not pass through a link (remove one of them)`,
          path,
        );
      }
      if (kind === 'file')
        throw new UnsafeSourceError(`${this.label}: ${path} lies under ${parent}, which is a file (remove one of them)`, path);
      this.made.set(parent, 'implied');
      missing.push(parent);
    }
    return missing;
  }

  private twice(path: string): never {
    throw new UnsafeSourceError(`${this.label}: path ${path} appears twice (an archive or tree may name each path once)`, path);
  }
}
