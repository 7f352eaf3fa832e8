import { posix } from 'node:path';
import { UnsafeSourceError } from '../util/errors.js';
import type { TreeEntry } from './tree.js';

export interface SafetyOptions {
  /** Names the source in errors, e.g. `service catalog (services/catalog at 1a2b3c4)`. */
  label: string;
  /**
   * How symlink targets are judged. `contained`: a link must resolve inside the tree (services).
   * `rootfs`: absolute targets are fine because they resolve inside the image's own root (bases).
   */
  links: 'contained' | 'rootfs';
}

/** Longest path and longest resolved link accepted: far beyond any real tree, small enough to bound work. */
const MAX_PATH_BYTES = 4096;
const MAX_RESOLVED_COMPONENTS = 1024;
const MAX_LINK_HOPS = 40;

/**
 * Throws UnsafeSourceError when `path` is not a plain relative POSIX path: absolute, with `..`,
 * `.` or empty components, a NUL byte, or longer than 4096 bytes. The message names `label`
 * and the path (never a directory on this machine).
 */
export function assertSafePath(path: string, label: string): void {
  if (path.startsWith('/')) {
    throw new UnsafeSourceError(
      `${label}: absolute path ${path} would be written outside its install directory (use relative paths)`,
      path,
    );
  }
  if (path.includes('\0')) {
    throw new UnsafeSourceError(`${label}: path ${JSON.stringify(path)} contains a NUL byte`, path);
  }
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new UnsafeSourceError(
      `${label}: path ${path} contains '..', '.' or an empty component and could escape its install directory (rename it)`,
      path,
    );
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new UnsafeSourceError(`${label}: path ${path.slice(0, 80)}… is longer than ${MAX_PATH_BYTES} bytes (shorten it)`, path);
  }
}

/**
 * Refuses any entry that could escape the directory it is installed into: unsafe paths (see
 * assertSafePath), duplicate paths, entries whose path passes through a symlink or a file of the
 * tree (at any depth, whatever the order of the entries), and (for services) symlinks whose
 * target leaves the tree. Returns the entries unchanged when all are safe; throws
 * UnsafeSourceError naming the first bad path.
 */
export function assertSafeEntries(entries: readonly TreeEntry[], options: SafetyOptions): readonly TreeEntry[] {
  const byPath = new Map<string, TreeEntry>();
  for (const entry of entries) {
    assertSafePath(entry.path, options.label);
    if (byPath.has(entry.path)) {
      throw new UnsafeSourceError(
        `${options.label}: path ${entry.path} appears twice (an archive or tree may name each path once)`,
        entry.path,
      );
    }
    byPath.set(entry.path, entry);
  }
  const resolver = new Resolver(byPath);
  for (const entry of entries) {
    assertNoLinkOnTheWay(entry, byPath, options.label);
    if (entry.type === 'symlink') assertSafeLink(entry, resolver, options);
  }
  return entries;
}

/** Each parent of an entry must be a directory: writing under a link would write wherever it points. */
function assertNoLinkOnTheWay(entry: TreeEntry, byPath: ReadonlyMap<string, TreeEntry>, label: string): void {
  const parts = entry.path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    const kind = byPath.get(parent)?.type;
    if (kind === 'symlink') {
      throw new UnsafeSourceError(
        `${label}: ${entry.path} lies under the symlink ${parent}; an entry may not pass through a link (remove one of them)`,
        entry.path,
      );
    }
    if (kind === 'file') {
      throw new UnsafeSourceError(`${label}: ${entry.path} lies under ${parent}, which is a file (remove one of them)`, entry.path);
    }
  }
}

function assertSafeLink(entry: TreeEntry, resolver: Resolver, options: SafetyOptions): void {
  const target = entry.linkTarget ?? '';
  if (target === '') {
    throw new UnsafeSourceError(`${options.label}: symlink ${entry.path} has an empty target`, entry.path);
  }
  if (target.includes('\0')) {
    throw new UnsafeSourceError(`${options.label}: symlink ${entry.path} has a target with a NUL byte`, entry.path);
  }
  if (options.links === 'rootfs') return;
  if (target.startsWith('/') || resolver.resolve(dirParts(entry.path), target, 0) === undefined) {
    throw new UnsafeSourceError(
      `${options.label}: symlink ${entry.path} -> ${target} points outside the service (use a relative link to a file inside it)`,
      entry.path,
    );
  }
}

function dirParts(path: string): string[] {
  const dir = posix.dirname(path);
  return dir === '.' ? [] : dir.split('/');
}

/**
 * Walks link targets component by component, following symlinks inside the tree, and answers
 * where they lead (undefined: out of the tree, a loop, or absurdly long). Lexical normalization
 * alone is not enough: with `a -> .`, the target `a/../x` looks inside but is not. Each link is
 * resolved once (memoized; where a link leads depends only on where it is and what it says), so a
 * chain of links that each name the previous one twice costs linear, not exponential, work.
 */
class Resolver {
  private readonly done = new Map<string, string[] | undefined>();
  constructor(private readonly byPath: ReadonlyMap<string, TreeEntry>) {}

  resolve(start: readonly string[], target: string, hops: number): string[] | undefined {
    if (hops > MAX_LINK_HOPS) return undefined; // a symlink loop: refuse rather than guess
    let stack = [...start];
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0) return undefined;
        stack.pop();
        continue;
      }
      const path = [...stack, part].join('/');
      const here = this.byPath.get(path);
      if (here?.type === 'symlink') {
        const next = this.link(path, stack, here.linkTarget ?? '', hops);
        if (next === undefined) return undefined;
        stack = [...next];
      } else {
        stack.push(part);
      }
      if (stack.length > MAX_RESOLVED_COMPONENTS) return undefined;
    }
    return stack;
  }

  private link(path: string, parent: readonly string[], target: string, hops: number): string[] | undefined {
    if (this.done.has(path)) return this.done.get(path);
    if (target.startsWith('/')) return undefined;
    const resolved = this.resolve(parent, target, hops + 1);
    // An undefined reached through the hop limit is remembered too: it only ever refuses more.
    this.done.set(path, resolved);
    return resolved;
  }
}
