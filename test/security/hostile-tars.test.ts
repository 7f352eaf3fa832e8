import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  readSafeTar,
  readSafeTarInMemory,
  TarLimitError,
  type SafeTarLimits,
  type SafeTarOptions,
  type SafeTarResult,
} from '../../src/layer/safe-tar.js';
import { UnsafeSourceError } from '../../src/util/errors.js';
import { hostileTar, type Member } from './hostile-tar.js';

// Every archive is unpacked three directories deep inside a scratch root, so a member that
// escapes by up to three levels lands somewhere this test can see: the root must hold nothing
// but the unpack directory afterwards (and not even that when the archive was refused).
let root: string;
let dir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bake-hostile-'));
  await mkdir(join(root, 'a', 'b'), { recursive: true });
  dir = join(root, 'a', 'b', 'out');
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function everything(base: string, rel = ''): Promise<string[]> {
  const names = await readdir(join(base, rel)).catch(() => []);
  const out: string[] = [];
  for (const name of names.sort()) {
    const path = rel ? `${rel}/${name}` : name;
    out.push(path);
    if ((await lstat(join(base, path))).isDirectory()) out.push(...(await everything(base, path)));
  }
  return out;
}

/** The two ways an archive is read: unpacked to a directory, or held in memory (a small upload). */
type Reader = (input: Readable, options: SafeTarOptions) => Promise<SafeTarResult>;
const onDisk: Reader = (input, options) => readSafeTar(input, dir, options);
const inMemory: Reader = (input, options) => readSafeTarInMemory(input, options);

async function unpack(members: readonly Member[], limits?: Partial<SafeTarLimits>, reader: Reader = onDisk) {
  return reader(Readable.from([hostileTar(members)]), { label: 'upload sha256:1234', ...(limits && { limits }) });
}

async function refusal(members: readonly Member[], limits?: Partial<SafeTarLimits>, reader: Reader = onDisk): Promise<UnsafeSourceError> {
  const error = await unpack(members, limits, reader).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the archive must be refused').toBeInstanceOf(UnsafeSourceError);
  expect((error as Error).message).toContain('upload sha256:1234');
  expect((error as Error).message, 'no path of this machine in the message').not.toContain(root);
  expect((error as UnsafeSourceError).exitCode).toBe(2);
  // Nothing written anywhere: not outside, and the half-unpacked directory is gone too.
  expect(await everything(root)).toEqual(['a', 'a/b']);
  return error as UnsafeSourceError;
}

/** `x -> .`, then `x/x/…/y -> ../../…` climbing `depth` levels, then a file under y: the chain from the audit. */
function chain(depth: number): Member[] {
  const through = Array.from({ length: depth }, () => 'x').join('/');
  return [
    { name: 'x', type: 'symlink', linkname: '.' },
    { name: `${through}/y`, type: 'symlink', linkname: '../'.repeat(depth) },
    { name: `${through}/y/bake.yaml`, body: 'services: {}\n' },
  ];
}

const orders = <T>(items: readonly T[]): T[][] => [items.slice(), items.slice().reverse(), [items[1], items[0], ...items.slice(2)] as T[]];

describe.each<[string, Reader]>([
  ['on disk', onDisk],
  ['in memory', inMemory],
])('readSafeTar refuses hostile archives (%s)', (_where, reader) => {
  for (const depth of [1, 2, 3]) {
    for (const [i, members] of orders(chain(depth)).entries()) {
      it(`a symlink chain ${depth} deep (order ${i + 1})`, async () => {
        await refusal(members, undefined, reader);
      });
    }
  }

  it.each<[string, Member[], RegExp]>([
    [
      'a file under a link to the parent',
      [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'up/evil', body: 'x' },
      ],
      /lies under the symlink up/,
    ],
    [
      'a directory under a link',
      [
        { name: 'l', type: 'symlink', linkname: 'd' },
        { name: 'd', type: 'directory' },
        { name: 'l/sub', type: 'directory' },
      ],
      /under the symlink l/,
    ],
    [
      'a file under a file',
      [
        { name: 'f', body: 'x' },
        { name: 'f/g', body: 'y' },
      ],
      /which is a file/,
    ],
    ['a PAX path that climbs out', [{ name: 'harmless', body: 'x', pax: { path: '../../../evil' } }], /\.\./],
    ['a PAX path with a NUL byte', [{ name: 'harmless', body: 'x', pax: { path: 'a\u0000b' } }], /NUL/],
    [
      'a PAX linkpath that climbs out',
      [{ name: 'l', type: 'symlink', linkname: 'ok', pax: { linkpath: '../../../../etc' } }],
      /points outside/,
    ],
    ['a GNU long name that climbs out', [{ name: `../../../${'n'.repeat(150)}`, body: 'x', gnu: true }], /\.\./],
    [
      'a GNU long link target that climbs out',
      [{ name: 'l', type: 'symlink', linkname: `${'../'.repeat(60)}etc`, gnu: true }],
      /points outside/,
    ],
    ['an absolute path', [{ name: '/etc/evil', body: 'x' }], /absolute path/],
    ['an absolute symlink', [{ name: 'l', type: 'symlink', linkname: '/etc/passwd' }], /points outside/],
    [
      'a hard link',
      [
        { name: 'a', body: 'x' },
        { name: 'b', type: 'link', linkname: 'a' },
      ],
      /hard link/,
    ],
    ['a character device', [{ name: 'null', type: 'character-device' }], /character-device/],
    ['a block device', [{ name: 'sda', type: 'block-device' }], /block-device/],
    ['a fifo', [{ name: 'pipe', type: 'fifo' }], /fifo/],
    [
      'a file named twice',
      [
        { name: 'a', body: 'one' },
        { name: 'a', body: 'two' },
      ],
      /appears twice/,
    ],
    [
      'a directory named twice',
      [
        { name: 'd', type: 'directory' },
        { name: 'd', type: 'directory' },
      ],
      /appears twice/,
    ],
    [
      'a file, then a symlink of the same name',
      [
        { name: 'a', body: 'x' },
        { name: 'a', type: 'symlink', linkname: 'b' },
      ],
      /appears twice/,
    ],
    [
      'a directory of earlier entries, then a symlink of its name',
      [
        { name: 'd/f', body: 'x' },
        { name: 'd', type: 'symlink', linkname: '..' },
      ],
      /directory of earlier entries/,
    ],
    [
      'a symlink loop',
      [
        { name: 'a', type: 'symlink', linkname: 'b' },
        { name: 'b', type: 'symlink', linkname: 'a/x' },
      ],
      /points outside/,
    ],
  ])('%s', async (_name, members, message) => {
    const error = await refusal(members, undefined, reader);
    expect(error.message).toMatch(message);
  });

  it('refuses garbage that is not a tar archive, as invalid input', async () => {
    const garbage = Buffer.alloc(2048, 'z');
    const error = await reader(Readable.from([garbage]), { label: 'upload sha256:1234' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeSourceError);
    expect((error as Error).message).toMatch(/not a valid tar archive/);
    expect(await everything(root)).toEqual(['a', 'a/b']);
  });

  it('refuses a truncated archive and leaves nothing behind', async () => {
    const whole = hostileTar([{ name: 'a', body: Buffer.alloc(4096, 1) }]);
    const error = await reader(Readable.from([whole.subarray(0, 1500)]), { label: 'upload sha256:1234' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsafeSourceError);
    expect(await everything(root)).toEqual(['a', 'a/b']);
  });

  it('refuses a huge declared size at once, before reading a byte of it', async () => {
    const started = Date.now();
    for (const members of [[{ name: 'big', size: 2 ** 40 }], [{ name: 'big', body: 'x', pax: { size: String(10 ** 12) } }]] as Member[][]) {
      const error = await refusal(members, undefined, reader);
      expect(error).toBeInstanceOf(TarLimitError);
      expect(error.message).toMatch(/declares \d+ bytes/);
    }
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops an archive larger than its byte limit, and one with too many entries', async () => {
    expect(await refusal([{ name: 'a', body: Buffer.alloc(100_000, 1) }], { maxBytes: 64 * 1024 }, reader)).toBeInstanceOf(TarLimitError);
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
    expect((await refusal(many, { maxEntries: 10 }, reader)).message).toMatch(/more than 10 entries/);
  });
});

describe('readSafeTar unpacks what is safe', () => {
  it('applies PAX and GNU long names, in any order of members, and hashes the bytes as received', async () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const members: Member[] = [
      { name: 'later/child.txt', body: 'before its directory' },
      { name: 'later', type: 'directory' },
      { name: 'x', body: 'x', pax: { path: `pax/${long}` } },
      { name: `gnu/${long}`, body: 'gnu', gnu: true },
      { name: 'link', type: 'symlink', linkname: `gnu/${long}`, gnu: true },
    ];
    const bytes = hostileTar(members);
    const result = await readSafeTar(Readable.from([bytes]), dir, { label: 'upload' });
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    expect(result.bytes).toBe(bytes.length);
    expect(await readFile(join(dir, 'pax', long), 'utf8')).toBe('x');
    expect(await readFile(join(dir, 'gnu', long), 'utf8')).toBe('gnu');
    expect(await readlink(join(dir, 'link'))).toBe(`gnu/${long}`);
    expect(await readFile(join(dir, 'later', 'child.txt'), 'utf8')).toBe('before its directory');
    const paths = result.entries.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining([`pax/${long}`, `gnu/${long}`, 'link', 'later', 'later/child.txt']));
    expect((await everything(root)).every((p) => p === 'a' || p === 'a/b' || p.startsWith('a/b/out'))).toBe(true);
  });

  it('drops setuid, setgid and sticky bits and normalizes modes as git has them', async () => {
    const result = await unpack([
      { name: 'suid', body: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'sgid', body: 'x', mode: 0o2644 },
      { name: 'group-writable', body: 'x', mode: 0o664 },
      { name: 'odd-exec', body: 'x', mode: 0o710 },
      { name: 'tmp', type: 'directory', mode: 0o1777 },
    ]);
    const modes = Object.fromEntries(result.entries.map((e) => [e.path, e.mode]));
    expect(modes).toEqual({ suid: 0o755, sgid: 0o644, 'group-writable': 0o644, 'odd-exec': 0o755, tmp: 0o755 });
    for (const [path, mode] of Object.entries(modes)) expect((await lstat(join(dir, path))).mode & 0o7777, path).toBe(mode);
  });

  it('streams a large body to disk intact', async () => {
    const big = Buffer.from(Array.from({ length: 3 << 20 }, (_, i) => i % 251));
    const bytes = hostileTar([{ name: 'big.bin', body: big }]);
    // Arrives in small, odd-sized chunks, as a network upload would.
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7001) }, (_, i) => bytes.subarray(i * 7001, (i + 1) * 7001));
    await readSafeTar(Readable.from(chunks), dir, { label: 'upload' });
    expect((await readFile(join(dir, 'big.bin'))).equals(big)).toBe(true);
  });

  it('reads back what it wrote', async () => {
    const result = await unpack([
      { name: 'd/f.txt', body: 'hello' },
      { name: 'd/l', type: 'symlink', linkname: 'f.txt' },
    ]);
    const file = result.entries.find((e) => e.path === 'd/f.txt');
    expect((await file?.read?.())?.toString()).toBe('hello');
    expect(result.entries.find((e) => e.path === 'd')?.type).toBe('directory');
  });

  it('holds in memory exactly the tree it would unpack, writing nothing', async () => {
    const long = `${'deep/'.repeat(30)}file.txt`;
    const members: Member[] = [
      { name: 'later/child.txt', body: 'before its directory' },
      { name: 'later', type: 'directory' },
      { name: 'x', body: 'x', pax: { path: `pax/${long}` }, mode: 0o4755 },
      { name: 'link', type: 'symlink', linkname: `pax/${long}`, gnu: true },
    ];
    const held = await unpack(members, undefined, inMemory);
    expect(await everything(root), 'nothing on disk').toEqual(['a', 'a/b']);
    const unpacked = await unpack(members);
    const shape = async (r: SafeTarResult) =>
      Promise.all(
        r.entries.map(async (e) => ({
          path: e.path,
          type: e.type,
          mode: e.mode,
          size: e.size,
          link: e.linkTarget,
          body: (await e.read?.())?.toString(),
        })),
      );
    expect(await shape(held)).toEqual(await shape(unpacked));
    expect(held.digest).toBe(unpacked.digest);
    expect((await shape(held)).find((e) => e.path === `pax/${long}`)).toMatchObject({ mode: 0o755, body: 'x' });
  });
});
