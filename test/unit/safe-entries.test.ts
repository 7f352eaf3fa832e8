import { describe, expect, it } from 'vitest';
import { assertSafeEntries } from '../../src/tree/safe-entries.js';
import { UnsafeSourceError } from '../../src/util/errors.js';
import type { TreeEntry } from '../../src/tree/tree.js';

const file = (path: string): TreeEntry => ({ path, type: 'file', mode: 0o644, size: 0, read: async () => Buffer.alloc(0) });
const dir = (path: string): TreeEntry => ({ path, type: 'directory', mode: 0o755, size: 0 });
const link = (path: string, linkTarget: string): TreeEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget });

const service = { label: 'service web', links: 'contained' } as const;

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

  it('lets a root filesystem have absolute symlinks', () => {
    expect(() => assertSafeEntries([dir('bin'), file('bin/busybox'), link('bin/sh', '/bin/busybox')], { label: 'base', links: 'rootfs' })).not.toThrow();
  });
});
