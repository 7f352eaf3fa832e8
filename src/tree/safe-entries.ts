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

/**
 * Refuses any entry that could escape the directory it is installed into: `..` components,
 * absolute paths, duplicate paths, and (for services) symlinks whose target leaves the tree.
 * Returns the entries unchanged when all are safe; throws UnsafeSourceError naming the first bad path.
 */
export function assertSafeEntries(entries: readonly TreeEntry[], options: SafetyOptions): readonly TreeEntry[] {
  const seen = new Set<string>();
  const byPath = new Map(entries.map((e) => [e.path, e] as const));
  for (const entry of entries) {
    const { path } = entry;
    if (path.startsWith('/')) {
      throw new UnsafeSourceError(`${options.label}: absolute path ${path} would be written outside its install directory (use relative paths)`, path);
    }
    if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new UnsafeSourceError(`${options.label}: path ${path} contains '..', '.' or an empty component and could escape its install directory (rename it)`, path);
    }
    if (path.includes('\0')) {
      throw new UnsafeSourceError(`${options.label}: path ${JSON.stringify(path)} contains a NUL byte`, path);
    }
    if (seen.has(path)) {
      throw new UnsafeSourceError(`${options.label}: path ${path} appears twice`, path);
    }
    seen.add(path);
    if (entry.type === 'symlink') assertSafeLink(entry, byPath, options);
  }
  return entries;
}

function assertSafeLink(entry: TreeEntry, byPath: ReadonlyMap<string, TreeEntry>, options: SafetyOptions): void {
  const target = entry.linkTarget ?? '';
  if (target === '') {
    throw new UnsafeSourceError(`${options.label}: symlink ${entry.path} has an empty target`, entry.path);
  }
  if (options.links === 'rootfs') return;
  if (target.startsWith('/') || !resolvesInside(posix.dirname(entry.path), target, byPath)) {
    throw new UnsafeSourceError(
      `${options.label}: symlink ${entry.path} -> ${target} points outside the service (use a relative link to a file inside it)`,
      entry.path,
    );
  }
}

/**
 * Walks `target` component by component from `dir`, following symlinks inside the tree, and
 * answers whether every step stays inside it. Lexical normalization alone is not enough: with
 * `a -> .`, the target `a/../x` looks inside but is not.
 */
function resolvesInside(dir: string, target: string, byPath: ReadonlyMap<string, TreeEntry>): boolean {
  return resolve(dir === '.' ? [] : dir.split('/'), target, byPath, 0) !== undefined;
}

/** The real path components `target` reaches from `start`, or undefined if it leaves the tree. */
function resolve(start: readonly string[], target: string, byPath: ReadonlyMap<string, TreeEntry>, depth: number): string[] | undefined {
  if (depth > 40) return undefined; // a symlink loop: refuse rather than guess
  let stack = [...start];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    const here = byPath.get([...stack, part].join('/'));
    if (here?.type === 'symlink') {
      const link = here.linkTarget ?? '';
      if (link.startsWith('/')) return undefined;
      const next = resolve(stack, link, byPath, depth + 1);
      if (next === undefined) return undefined;
      stack = next;
    } else {
      stack.push(part);
    }
  }
  return stack;
}
