import { afterAll, describe, expect, it } from 'vitest';
import type { BaseImage } from '../../src/base/base-image.js';
import { commitServices } from '../../src/commit/commit-services.js';
import { loadRecipe } from '../../src/config/recipe.js';
import { loadWorkspace } from '../../src/config/workspace.js';
import { assembleHeavy, assembleLight } from '../../src/image/assemble.js';
import { buildImage } from '../../src/image/build-image.js';
import { planBuild } from '../../src/image/plan.js';
import { openLayoutStore } from '../../src/oci/layout-store.js';
import { gitRepo, tempDir, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { commitTree, dir, file, manifestOf, recipe, service, T0, validateImage, workspace } from './image-fixtures.js';

/**
 * Golden digests: fixed inputs must give these exact digests, on any machine, at any time. A
 * change that shifts them (a tar header field, key order, a default, the clock) changes what every
 * user's images are and must be deliberate: if it is, update the literals here and say why in the
 * commit. Nothing below may depend on the wall clock, the host or the user.
 */
const GOLDEN = {
  catalogLayer: 'sha256:ff3a5ddf2810a3dbbd0cc27c3aa5925e400ca52e76b661911f12e8369c69a5bb',
  webLayer: 'sha256:148286c64978d6aaa86f7f3106a82d0b70033ef4f65e45014fbe5426250d2f22',
  heavy: 'sha256:823016395a16870f8128bd033a4ddf06b29b3301403b1d47a2e82fb7e3302f8d',
  light: 'sha256:2cf2e5291a24f39fe9dfd54f3b5aeb08c38bf5ca7a99f5d362d45327cdeef393',
  committedShop: 'sha256:b04c3e752a8788078745e1572862df027bd22f0116edfb0be6d67c91e92ff650',
};

const SCRATCH: BaseImage = { layers: [], config: {}, history: [], description: 'scratch' };

describe('golden digests of in-memory trees', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(() => Promise.all(cleanups.map((c) => c())));

  it('assembles the same heavy and light images as ever', async () => {
    const temp = await tempDir('golden');
    cleanups.push(temp.cleanup);
    const store = await openLayoutStore(temp.dir);
    const catalog = service('catalog', { run: './run.sh', port: 8081, env: { MODE: 'fast' } });
    const web = service('web', { run: 'httpd -f -p $PORT', port: 8080 });
    const catalogV1 = await commitTree(store, catalog, 1, [
      file('run.sh', '#!/bin/sh\nexec echo catalog\n', 0o755),
      dir('data'),
      file('data/items.json', '["tea"]\n'),
    ]);
    const webV1 = await commitTree(
      store,
      web,
      1,
      [file('index.html', '<h1>shop</h1>\n'), file('bin/serve', '#!/bin/sh\n', 0o755)],
      T0 + 3600,
    );
    expect({ catalogLayer: catalogV1.layer.digest, webLayer: webV1.layer.digest }).toEqual({
      catalogLayer: GOLDEN.catalogLayer,
      webLayer: GOLDEN.webLayer,
    });

    const ws = workspace([catalog, web]);
    const manifest = manifestOf({ catalog: [catalogV1], web: [webV1] });
    const shop = recipe(['catalog', 'web'], { env: { SHOP_REGION: 'local' }, ports: [8080, 8081], labels: { team: 'shop' } });
    const heavy = await assembleHeavy(planBuild(ws, shop, manifest, { env: {} }), SCRATCH, store);
    const light = await assembleLight(planBuild(ws, { ...shop, bake: 'light' }, manifest, { env: {} }), SCRATCH, store);
    await validateImage(store, heavy);
    await validateImage(store, light);
    expect({ heavy: heavy.manifest.digest, light: light.manifest.digest }).toEqual({ heavy: GOLDEN.heavy, light: GOLDEN.light });
  });
});

const tools = requireTools('git');

describe.skipIf(tools.skip)('golden digest of a committed workspace', () => {
  let repo: Repo | undefined;
  afterAll(() => repo?.cleanup());

  it('commits and bakes a tiny git workspace to the same digest as ever', async () => {
    // gitRepo commits with a fixed identity and date; SOURCE_DATE_EPOCH is the one clock of the bake.
    repo = await gitRepo({
      'bake.yaml':
        'services:\n  hello:\n    source: services/hello\n    install: /srv/hello\n    run: ./run.sh\n    port: 8080\n    health: /\n',
      'recipes/shop.yaml': 'image: shop\nservices: [hello]\nenv: {GREETING: hi}\nlabels: {team: golden}\n',
      'services/hello/run.sh': { content: '#!/bin/sh\nexec httpd -f -p "$PORT" -h www\n', mode: 0o755 },
      'services/hello/www/index.html': { content: '<h1>hello</h1>\n', mode: 0o644 },
    });
    const env = { SOURCE_DATE_EPOCH: '1700000000', BAKE_ACTOR: 'golden@test' };
    const ws = await loadWorkspace(repo.dir);
    const [committed] = await commitServices(ws, [...ws.services.values()], { env });
    expect(committed).toMatchObject({ service: 'hello', version: 1, created: true });
    const build = await buildImage(ws, await loadRecipe(ws, 'shop'), { env });
    expect(build).toMatchObject({ image: 'shop', build: 1, vector: { hello: 1 }, stale: false, reproducible: true });
    expect(build.digest).toBe(GOLDEN.committedShop);
  });
});
