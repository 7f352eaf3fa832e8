import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialize } from '../../src/source/materialize.js';
import type { TreeEntry } from '../../src/tree/tree.js';
import { BakeError, UnsafeSourceError } from '../../src/util/errors.js';

const file = (path: string, mode = 0o644): TreeEntry => ({ path, type: 'file', mode, size: 1, read: async () => Buffer.from('x') });
const link = (path: string, linkTarget: string): TreeEntry => ({ path, type: 'symlink', mode: 0o777, size: 0, linkTarget });

describe('materialize', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bake-materialize-'));
    await mkdir(join(root, 'outside'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('never writes through a link, whatever the order of entries', async () => {
    for (const [i, entries] of [
      [link('l', join(root, 'outside')), file('l/evil')],
      [file('l/evil'), link('l', join(root, 'outside'))],
    ].entries()) {
      const error = await materialize(entries, join(root, `t${i}`)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnsafeSourceError);
    }
    expect(await readdir(join(root, 'outside'))).toEqual([]);
  });

  it('writes only into a fresh directory: not a non-empty one, not a link to one', async () => {
    await mkdir(join(root, 'used'));
    await writeFile(join(root, 'used', 'x'), 'x');
    await symlink(join(root, 'outside'), join(root, 'alias'));
    for (const dir of ['used', 'alias']) {
      const error = await materialize([file('a')], join(root, dir)).catch((e: unknown) => e);
      expect(error, dir).toBeInstanceOf(BakeError);
      expect((error as Error).message).not.toContain(root);
    }
    expect(await readdir(join(root, 'outside'))).toEqual([]);
  });

  it('drops setuid, setgid and sticky bits', async () => {
    await materialize([file('suid', 0o4755), { path: 'tmp', type: 'directory', mode: 0o1777, size: 0 }], join(root, 'modes'));
    expect((await lstat(join(root, 'modes', 'suid'))).mode & 0o7777).toBe(0o755);
    expect((await lstat(join(root, 'modes', 'tmp'))).mode & 0o7777).toBe(0o777);
  });
});
