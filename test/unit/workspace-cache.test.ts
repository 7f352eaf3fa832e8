import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/workspace.js';
import { InputError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/repo.js';

// loadWorkspace keeps what it made of a bake.yaml for the next load of the same bytes (a
// long-lived `bake serve` loads it for every request). What must hold: any change to the file is
// seen by the very next load, however fast and whatever its size; the sources are still checked
// on every load that asks; each caller gets a config of its own.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function workspace(yaml: string, sources: string[]): Promise<string> {
  const { dir, cleanup } = await tempDir('ws-cache');
  cleanups.push(cleanup);
  for (const source of sources) await mkdir(join(dir, source), { recursive: true });
  await writeFile(join(dir, 'bake.yaml'), yaml);
  return dir;
}

const yaml = (install: string) => `services:\n  cart: {source: services/cart, install: ${install}}\n`;

describe('loadWorkspace, loaded again', () => {
  it('sees a bake.yaml rewritten at once with as many bytes', async () => {
    const dir = await workspace(yaml('/srv/aaaa'), ['services/cart']);
    expect((await loadWorkspace(dir)).services.get('cart')?.install).toBe('/srv/aaaa');
    // Same length, same second (same mtime on coarse clocks): only the bytes differ.
    await writeFile(join(dir, 'bake.yaml'), yaml('/srv/bbbb'));
    expect((await loadWorkspace(dir)).services.get('cart')?.install).toBe('/srv/bbbb');
  });

  it('reports a bake.yaml broken after a good load, with its position', async () => {
    const dir = await workspace(yaml('/srv/cart'), ['services/cart']);
    await loadWorkspace(dir);
    await writeFile(join(dir, 'bake.yaml'), 'services:\n  cart: {source: services/cart}\n');
    const error = await loadWorkspace(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems[0]).toMatchObject({ line: 2, field: 'services.cart.install' });
  });

  it('checks the sources on every load that asks, and not on one that reads none', async () => {
    const dir = await workspace(yaml('/srv/cart'), ['services/cart']);
    await loadWorkspace(dir);
    await rm(join(dir, 'services/cart'), { recursive: true });
    const error = await loadWorkspace(dir).catch((e: unknown) => e);
    expect((error as InputError).problems).toMatchObject([{ field: 'services.cart.source', message: /does not exist/ }]);
    expect((await loadWorkspace(dir, { checkSources: false })).services.has('cart')).toBe(true);
  });

  it('reports a bake.yaml replaced by a FIFO instead of waiting for a writer', async () => {
    const dir = await workspace(yaml('/srv/cart'), ['services/cart']);
    await loadWorkspace(dir);
    await rm(join(dir, 'bake.yaml'));
    execFileSync('mkfifo', [join(dir, 'bake.yaml')]);
    const error = await loadWorkspace(dir).catch((e: unknown) => e);
    expect((error as InputError).problems).toMatchObject([{ file: 'bake.yaml', message: /not a regular file/ }]);
  });

  it('gives each caller a config of its own', async () => {
    const dir = await workspace(yaml('/srv/cart'), ['services/cart']);
    const first = await loadWorkspace(dir);
    first.services.delete('cart');
    const second = await loadWorkspace(dir);
    expect(second.services.get('cart')?.install).toBe('/srv/cart');
    expect(second).not.toBe(first);
  });
});
