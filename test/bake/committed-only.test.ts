import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar } from '../../src/layer/tar.js';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

describe.skipIf(tools.skip)('committed source only', () => {
  let repo: Repo;
  afterAll(() => repo?.cleanup());

  it('excludes uncommitted edits and untracked files, and commits nothing new for them', async () => {
    repo = await shopRepo({ base: false });
    const ws = ['-C', repo.dir, '--json'];
    const first = (await bake([...ws, 'commit', 'catalog'])).json.commits[0];
    await writeFile(join(repo.dir, 'services', 'catalog', 'products.json'), '[]\n');
    await writeFile(join(repo.dir, 'services', 'catalog', 'untracked.txt'), 'not committed\n');
    const again = await bake([...ws, 'commit', 'catalog']);
    expect(again.json.commits[0]).toMatchObject({ service: 'catalog', version: 1, created: false, digest: first.digest });

    const layer = await readFile(join(repo.dir, '.bake', 'store', 'blobs', 'sha256', first.layer.slice(7)));
    const entries = await readTar(layer, 'layer');
    const paths = entries.map((e) => e.path);
    expect(paths).toContain('srv/catalog/products.json');
    expect(paths).not.toContain('srv/catalog/untracked.txt');
    const products = entries.find((e) => e.path === 'srv/catalog/products.json');
    expect((await products?.read?.())?.toString()).toContain('tea-green');

    await repo.commitAll('empty the catalog', '2026-01-03T00:00:00Z');
    const next = (await bake([...ws, 'commit', 'catalog'])).json.commits[0];
    expect(next).toMatchObject({ version: 2, created: true });
    expect(next.revision).toBe((await repo.git('rev-parse', 'HEAD')).trim());
  });
});
