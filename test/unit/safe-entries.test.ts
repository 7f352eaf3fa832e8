import { describe, expect, it } from 'vitest';
import { assertSafeEntries } from '../../src/tree/safe-entries.js';
import { UnsafeSourceError } from '../../src/util/errors.js';
import type { TreeEntry } from '../../src/tree/tree.js';

const file = (path: string): TreeEntry => ({ path, type: 'file', mode: 0o644, size: 0, read: async () => Buffer.alloc(0) });
const dir = (path: string): TreeEntry => ({ path, type: 'directory', mode: 0o755, size: 0 });
const link = (path: string, linkTarget: string): TreeEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget });

const service = { label: 'service web', links: 'contained' } as const;

/**
 * `l0 -> .`, `l1 -> l0/l0`, `l2 -> l1/l1`…: resolving l30 naively walks 2^30 links. Then `bad`
 * climbs out through the last of them.
 */
function doubling(n: number): TreeEntry[] {
  const entries = [link('l0', '.')];
  for (let i = 1; i <= n; i++) entries.push(link(`l${i}`, `l${i - 1}/l${i - 1}`));
  return [...entries, link('bad', `l${n}/../x`)];
}

describe('assertSafeEntries', () => {
  it.each([
    ['a relative link to a sibling', [file('a'), link('b', 'a')]],
    ['a link into a sub-directory', [dir('d'), file('d/x'), link('l', 'd/x')]],
    ['a link up and back down inside', [dir('d'), dir('e'), file('e/x'), link('d/l', '../e/x')]],
    ['a link through a directory symlink that stays inside', [dir('s'), dir('s/t'), file('x'), link('a', 's/t'), link('b', 'a/../../x')]],
  ])('accepts %s', (_name, entries) => {
    expect(() => assertSafeEntries(entries, service)).not.toThrow();
  });

  it.each([
    ['a .. component', [file('../etc/passwd')], '../etc/passwd'],
    ['an absolute path', [file('/etc/passwd')], '/etc/passwd'],
    ['a duplicate path', [file('a'), file('a')], 'a'],
    ['an absolute symlink', [link('l', '/etc/passwd')], 'l'],
    ['a symlink climbing out', [dir('d'), link('d/l', '../../x')], 'd/l'],
    ['a symlink escaping through a directory symlink', [link('a', '.'), link('b', 'a/../x')], 'b'],
    ['a symlink escaping through a chain of links', [dir('d'), link('d/up', '..'), link('d/up2', 'up/..'), link('c', 'd/up2/x')], 'd/up2'],
    ['a symlink loop', [link('a', 'b'), link('b', 'a'), link('c', 'a/x')], 'a'],
    // The audit's chain: each entry looks harmless judged from its unresolved parent path.
    ['a file under a chain of links', [link('x', '.'), link('x/x/x/y', '../../../'), file('x/x/x/y/bake.yaml')], 'x/x/x/y'],
    ['the same chain, file first', [file('x/x/x/y/bake.yaml'), link('x/x/x/y', '../../../'), link('x', '.')], 'x/x/x/y/bake.yaml'],
    ['a file under a link that stays inside', [dir('d'), link('l', 'd'), file('l/f')], 'l/f'],
    ['a directory under a link', [link('l', '.'), dir('l/d')], 'l/d'],
    ['a file under a file', [file('f'), file('f/g')], 'f/g'],
    ['a NUL in a link target', [file('a'), link('l', 'a\0b')], 'l'],
    ['a link through a chain that doubles at every step', doubling(30), 'bad'],
  ])('refuses %s, naming the path', (_name, entries, path) => {
    let error: unknown;
    try {
      assertSafeEntries(entries, service);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsafeSourceError);
    expect((error as UnsafeSourceError).path).toBe(path);
    expect((error as Error).message).toContain('service web');
  });

  it('judges a long chain of links in linear time', () => {
    const started = Date.now();
    expect(() => assertSafeEntries(doubling(30), service)).toThrow(UnsafeSourceError);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('lets a root filesystem have absolute symlinks, but no entry under a link', () => {
    expect(() => assertSafeEntries([link('lib', 'usr/lib'), file('lib/libc.so')], { label: 'base', links: 'rootfs' })).toThrow(
      /under the symlink lib/,
    );
    expect(() =>
      assertSafeEntries([dir('bin'), file('bin/busybox'), link('bin/sh', '/bin/busybox')], { label: 'base', links: 'rootfs' }),
    ).not.toThrow();
  });
});
