import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recipeJsonSchema, workspaceJsonSchema } from '../src/config/json-schema.js';
import { listRecipes, loadRecipe } from '../src/config/recipe.js';
import { closest, editDistance } from '../src/config/validate.js';
import { loadWorkspace } from '../src/config/workspace.js';
import { InputError, formatProblem, type Problem } from '../src/util/errors.js';

// Real directories: the loaders check that sources and bases exist, so fakes would test less.
const made: string[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A temp workspace holding `files` (path → text; a path ending in / is a directory). */
async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bake-config-'));
  made.push(dir);
  for (const [path, text] of Object.entries(files)) {
    if (path.endsWith('/')) {
      await mkdir(join(dir, path), { recursive: true });
      continue;
    }
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

/** The problems of the InputError `promise` rejects with; fails the test if it resolves or throws anything else. */
async function problemsOf(promise: Promise<unknown>): Promise<Problem[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected an InputError').toBeInstanceOf(InputError);
  return (error as InputError).problems;
}

type Expected = Partial<Record<keyof Problem, string | number | RegExp>>;

/** The problems match the expectations one for one: exact values, or patterns for text. */
function expectProblems(problems: Problem[], expected: readonly Expected[]): void {
  expect(problems.map(formatProblem), 'problems reported').toHaveLength(expected.length);
  expected.forEach((want, i) => {
    const got = problems[i];
    for (const [key, value] of Object.entries(want)) {
      const actual = got?.[key as keyof Problem];
      if (value instanceof RegExp) expect(String(actual), `problem ${i} ${key}`).toMatch(value);
      else expect(actual, `problem ${i} ${key}`).toBe(value);
    }
  });
}

const SOURCES = { 'services/catalog/': '', 'services/cart/': '', 'services/web/': '' };

const GOOD_WORKSPACE = `# the shop
services:
  catalog:
    source: services/catalog
    build: make dist
    output: ./dist/
    install: /srv/catalog/
    run: /srv/catalog/run.sh
    port: 8081
    health: /healthz
    env: {MODE: fast, _DEBUG: "1"}
  cart: {source: services/cart, install: /srv/./cart, port: 8082}
  web: {source: services/web/, install: /srv/web, port: 8080, output: .}
environments:
  dev: {image: shop, dev: true, ports: {web: 9000}}
  prod:
    image: shop
    replicas: 3
    strategy: canary
    canary: {percent: 20, cohort: [beta]}
`;

describe('loadWorkspace: good files', () => {
  it('loads services with paths resolved and normalized, and environments with defaults', async () => {
    const dir = await workspace({ ...SOURCES, 'bake.yaml': GOOD_WORKSPACE });
    const ws = await loadWorkspace(dir);
    expect(ws.dir).toBe(dir);
    expect(ws.file).toBe(join(dir, 'bake.yaml'));
    expect([...ws.services.keys()]).toEqual(['catalog', 'cart', 'web']);
    expect(ws.services.get('catalog')).toEqual({
      name: 'catalog',
      source: join(dir, 'services/catalog'),
      sourceAsWritten: 'services/catalog',
      build: 'make dist',
      output: 'dist',
      install: '/srv/catalog',
      run: '/srv/catalog/run.sh',
      port: 8081,
      health: '/healthz',
      env: { MODE: 'fast', _DEBUG: '1' },
    });
    expect(ws.services.get('cart')).toEqual({
      name: 'cart',
      source: join(dir, 'services/cart'),
      sourceAsWritten: 'services/cart',
      install: '/srv/cart',
      port: 8082,
      env: {},
    });
    // `output: .` is the whole tree, the same as no output at all.
    expect(ws.services.get('web')?.output).toBeUndefined();
    expect(ws.environments.get('dev')).toEqual({
      name: 'dev',
      image: 'shop',
      replicas: 1,
      strategy: 'rolling',
      ports: { web: 9000 },
      batch: 1,
      canary: { cohort: [] },
      probationSeconds: 0,
      dev: true,
    });
    expect(ws.environments.get('prod')).toMatchObject({ replicas: 3, strategy: 'canary', canary: { percent: 20, cohort: ['beta'] } });
  });

  it('accepts a relative workspace directory and resolves it', async () => {
    const dir = await workspace({ ...SOURCES, 'bake.yaml': 'services:\n  web: {source: services/web, install: /srv/web}\n' });
    const ws = await loadWorkspace(join(dir, '..', dir.split('/').pop() ?? ''));
    expect(ws.dir).toBe(dir);
    expect(ws.environments.size).toBe(0);
  });

  it('gives every loaded file defaults of its own (no default value is shared between loads)', async () => {
    const dir = await workspace({
      ...SOURCES,
      'bake.yaml': 'services:\n  web: {source: services/web, install: /srv/web}\nenvironments:\n  dev: {image: shop}\n',
    });
    const first = await loadWorkspace(dir);
    const [web, dev] = [first.services.get('web'), first.environments.get('dev')];
    if (!web || !dev) throw new Error('web or dev not loaded');
    web.env['LEAK'] = '1';
    dev.canary.cohort.push('leak');
    const second = await loadWorkspace(dir);
    expect(second.services.get('web')?.env).toEqual({});
    expect(second.environments.get('dev')?.canary).toEqual({ cohort: [] });
  });

  it('resolves YAML aliases like the values they stand for', async () => {
    const yaml =
      'services:\n  web: {source: services/web, install: /srv/web, env: &env {MODE: fast}}\n  cart: {source: services/cart, install: /srv/cart, env: *env}\n';
    const ws = await loadWorkspace(await workspace({ ...SOURCES, 'bake.yaml': yaml }));
    expect(ws.services.get('cart')?.env).toEqual({ MODE: 'fast' });
  });
});

describe('loadWorkspace: each bad input is reported where it is, with a fix', () => {
  const cases: { name: string; yaml: string; files?: Record<string, string>; expected: Expected[] }[] = [
    {
      name: 'malformed YAML (an unclosed flow mapping)',
      yaml: 'services:\n  catalog: {source: services/catalog\n',
      expected: [{ file: 'bake.yaml', line: 3, column: 1, message: /^YAML syntax: /, fix: /close every \{/ }],
    },
    {
      name: 'a tab used for indentation',
      yaml: 'services:\n\tcatalog: {source: services/catalog, install: /srv/catalog}\n',
      expected: [{ line: 2, column: 1, message: /YAML syntax: Tabs/, fix: /indent with spaces/ }],
    },
    {
      name: 'a key given twice',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart}\n  cart: {source: services/web, install: /srv/web}\n',
      expected: [{ line: 3, column: 3, message: /duplicate key/, fix: /remove or rename one/ }],
    },
    {
      name: 'an unknown alias',
      yaml: 'services:\n  cart: {source: services/cart, install: *where}\n',
      expected: [{ line: 2, column: 42, message: 'YAML syntax: unknown alias *where', fix: 'define &where before it is used' }],
    },
    {
      name: 'an unknown key close to a known one, and the required key it was meant to be',
      yaml: 'services:\n  catalog:\n    source: services/catalog\n    instal: /srv/catalog\n',
      expected: [
        {
          file: 'bake.yaml',
          line: 4,
          column: 5,
          field: 'services.catalog.instal',
          message: 'unknown key "instal"',
          fix: 'did you mean "install"?',
        },
        {
          line: 3,
          column: 5,
          field: 'services.catalog.install',
          message: 'missing required key "install"',
          fix: /^add install: to services\.catalog — Absolute path/,
        },
      ],
    },
    {
      name: 'a transposed key',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, heatlh: /h}\n',
      expected: [{ field: 'services.cart.heatlh', fix: 'did you mean "health"?' }],
    },
    {
      name: 'a key that is a member of every JavaScript object',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, constructor: x}\n',
      expected: [{ field: 'services.cart.constructor', message: 'unknown key "constructor"' }],
    },
    {
      name: 'an unknown key near nothing known',
      yaml: 'colour: red\nservices: {}\n',
      expected: [
        {
          line: 1,
          column: 1,
          field: 'colour',
          message: 'unknown key "colour"',
          fix: 'remove it; the keys here are: services, environments, hooks, blobs, database',
        },
      ],
    },
    {
      name: 'a port written as a string',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, port: "80"}\n',
      expected: [
        {
          line: 2,
          column: 59,
          field: 'services.cart.port',
          message: 'expected a whole number, got string "80"',
          fix: 'write it without quotes: 80',
        },
      ],
    },
    {
      name: 'a port that is not a number',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, port: eighty}\n',
      expected: [
        {
          field: 'services.cart.port',
          message: 'expected a whole number, got string "eighty"',
          fix: 'write a whole number from 1 to 65535',
        },
      ],
    },
    {
      name: 'a port out of range',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, port: 70000}\n',
      expected: [{ field: 'services.cart.port', message: '70000 is out of range', fix: 'use a number from 1 to 65535' }],
    },
    {
      name: 'an env value YAML reads as a number',
      yaml: 'services:\n  cart:\n    source: services/cart\n    install: /srv/cart\n    env:\n      PORT: 8080\n',
      expected: [
        { line: 6, column: 13, field: 'services.cart.env.PORT', message: 'expected a string, got number 8080', fix: 'quote it: "8080"' },
      ],
    },
    {
      name: 'an empty value',
      yaml: 'services:\n  cart:\n    source: services/cart\n    install: /srv/cart\n    build:\n',
      expected: [
        {
          line: 5,
          column: 5,
          field: 'services.cart.build',
          message: 'expected a string, got nothing',
          fix: 'give it a string, or remove the key',
        },
      ],
    },
    {
      name: 'a required key left empty (removing it is no fix)',
      yaml: '# shop\nservices:\n',
      expected: [{ line: 2, column: 1, field: 'services', message: 'expected a mapping, got nothing', fix: 'give it a mapping' }],
    },
    {
      name: 'services written as a list',
      yaml: 'services:\n  - catalog\n',
      expected: [{ line: 2, column: 3, field: 'services', message: 'expected a mapping, got list' }],
    },
    {
      name: 'environments that is not a mapping',
      yaml: 'services: {}\nenvironments: [dev]\n',
      expected: [{ line: 2, column: 15, field: 'environments', message: 'expected a mapping, got list' }],
    },
    {
      name: 'a missing required field (at the object that lacks it)',
      yaml: 'services:\n  cart: {install: /srv/cart}\n',
      expected: [
        {
          line: 2,
          column: 9,
          field: 'services.cart.source',
          message: 'missing required key "source"',
          fix: /^add source: to services\.cart/,
        },
      ],
    },
    {
      name: 'a file with no services',
      yaml: 'environments: {}\n',
      expected: [{ line: 1, column: 1, field: 'services', message: 'missing required key "services"' }],
    },
    {
      name: 'an empty file',
      yaml: '# nothing yet\n',
      expected: [{ line: 1, column: 1, message: 'bake.yaml is empty', fix: /^add services:/ }],
    },
    {
      name: 'a relative install path',
      yaml: 'services:\n  cart: {source: services/cart, install: srv/cart}\n',
      expected: [
        { line: 2, column: 42, field: 'services.cart.install', message: /"srv\/cart" is not an absolute path/, fix: /absolute path/ },
      ],
    },
    {
      name: 'an install path that is the image root',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/..//}\n',
      expected: [
        {
          field: 'services.cart.install',
          message: 'install path /srv/..// is the image root /',
          fix: 'install into a directory of its own, e.g. /srv/cart',
        },
      ],
    },
    {
      name: 'two services with the same install path (spelled differently)',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/app}\n  web: {source: services/web, install: /srv/./app/}\n',
      expected: [
        {
          line: 3,
          column: 40,
          field: 'services.web.install',
          message: "install path /srv/app overlaps service cart's install path /srv/app (the same path)",
        },
      ],
    },
    {
      name: 'one install path inside another',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/shop/cart}\n  web: {source: services/web, install: /srv/shop}\n',
      expected: [
        {
          line: 3,
          field: 'services.web.install',
          message: "install path /srv/shop overlaps service cart's install path /srv/shop/cart (containing it)",
          fix: /directory of its own/,
        },
      ],
    },
    {
      name: 'an output that climbs out of the tree',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, output: dist/../..}\n',
      expected: [{ field: 'services.cart.output', message: /is not a relative path inside the tree, without \.\./ }],
    },
    {
      name: 'a health path without its slash',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, health: healthz}\n',
      expected: [{ field: 'services.cart.health', message: /is not an HTTP path starting with \// }],
    },
    {
      name: 'a nonexistent source directory',
      yaml: 'services:\n  cart: {source: services/carts, install: /srv/cart}\n',
      expected: [
        {
          line: 2,
          column: 18,
          field: 'services.cart.source',
          message: 'source directory services/carts does not exist',
          fix: /^create services\/carts, or correct the path/,
        },
      ],
    },
    {
      name: 'a source that is a file',
      yaml: 'services:\n  cart: {source: README, install: /srv/cart}\n',
      files: { README: 'hello\n' },
      expected: [{ field: 'services.cart.source', message: 'source README is not a directory' }],
    },
    {
      name: 'an absolute source path',
      yaml: 'services:\n  cart: {source: /etc, install: /srv/cart}\n',
      expected: [{ field: 'services.cart.source', message: /is not a path relative to the workspace/ }],
    },
    {
      name: 'a bad service name',
      yaml: 'services:\n  Bad_Name: {source: services/cart, install: /srv/cart}\n',
      expected: [
        { line: 2, column: 3, field: 'services.Bad_Name', message: 'invalid name "Bad_Name"', fix: /lower-case letters, digits and -/ },
      ],
    },
    {
      name: 'a bad env variable name',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart, env: {9LIVES: "yes"}}\n',
      expected: [{ line: 2, column: 59, field: 'services.cart.env.9LIVES', message: 'invalid name "9LIVES"' }],
    },
    {
      name: 'an environment routing a service that does not exist',
      yaml: 'services:\n  cart: {source: services/cart, install: /srv/cart}\nenvironments:\n  dev: {image: shop, ports: {kart: 9000}}\n',
      expected: [
        {
          line: 4,
          column: 30,
          field: 'environments.dev.ports.kart',
          message: 'no service named kart in services:',
          fix: 'use one of: cart',
        },
      ],
    },
    {
      name: 'an unknown strategy',
      yaml: 'services: {}\nenvironments:\n  dev: {image: shop, strategy: rolling-update}\n',
      expected: [{ field: 'environments.dev.strategy', message: 'unknown value "rolling-update"', fix: /use one of: rolling, blue-green/ }],
    },
  ];

  it.each(cases)('$name', async ({ yaml, files, expected }) => {
    const dir = await workspace({ ...SOURCES, ...files, 'bake.yaml': yaml });
    const problems = await problemsOf(loadWorkspace(dir));
    expectProblems(problems, expected);
    for (const p of problems) expect(p.file).toBe('bake.yaml');
  });

  it('reports every problem in the file at once, structural and on disk', async () => {
    const yaml = [
      'services:',
      '  catalog: {source: services/nope, install: srv, port: 0, colour: red}',
      '  cart: {install: /srv/cart}',
      '  web:',
      '    source: services/web',
      '    install: /srv/cart/web',
      '    env: {A: [1]}',
      '',
    ].join('\n');
    const problems = await problemsOf(loadWorkspace(await workspace({ ...SOURCES, 'bake.yaml': yaml })));
    expectProblems(problems, [
      { line: 2, column: 45, field: 'services.catalog.install' },
      { line: 2, column: 56, field: 'services.catalog.port' },
      { line: 2, column: 59, field: 'services.catalog.colour', fix: /the keys here are/ },
      { line: 3, column: 9, field: 'services.cart.source', message: /missing required/ },
      { line: 7, column: 14, field: 'services.web.env.A', message: 'expected a string, got list' },
      { line: 2, column: 21, field: 'services.catalog.source', message: /does not exist/ },
      { line: 6, column: 14, field: 'services.web.install', message: /overlaps service cart's/ },
    ]);
    // The message of the error is every problem, one per line, for the CLI to print.
    expect(new InputError(problems).message.split('\n')).toHaveLength(7);
    expect(formatProblem(problems[0] as Problem)).toBe(
      'bake.yaml:2:45: services.catalog.install: "srv" is not an absolute path other than /, e.g. /srv/catalog (fix: write an absolute path other than /, e.g. /srv/catalog)',
    );
  });

  it('reports every syntax error, not just the first', async () => {
    const problems = await problemsOf(loadWorkspace(await workspace({ 'bake.yaml': 'services:\n  a: 1\n  a: 2\n  b: 1\n  b: 2\n' })));
    expectProblems(problems, [
      { line: 3, column: 3, message: /duplicate key/ },
      { line: 5, column: 3, message: /duplicate key/ },
    ]);
  });

  it('says what to create when there is no bake.yaml', async () => {
    const dir = await workspace({});
    expectProblems(await problemsOf(loadWorkspace(dir)), [
      {
        file: 'bake.yaml',
        message: `cannot load the workspace: no bake.yaml in ${dir}`,
        fix: 'create bake.yaml with a services: map (see README)',
      },
    ]);
  });

  it('says so when the workspace directory itself is missing', async () => {
    const dir = join(await workspace({}), 'gone');
    expectProblems(await problemsOf(loadWorkspace(dir)), [{ file: dir, message: /directory .* does not exist/ }]);
  });
});

const GOOD = { ...SOURCES, 'bake.yaml': GOOD_WORKSPACE };

describe('loadRecipe: good files', () => {
  it('applies the defaults: image from the file name, heavy, scratch, the services’ ports, linux/amd64', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/shop.yaml': 'services: [web, catalog, cart]\n' });
    const recipe = await loadRecipe(await loadWorkspace(dir), 'shop');
    expect(recipe).toEqual({
      image: 'shop',
      file: join(dir, 'recipes/shop.yaml'),
      bake: 'heavy',
      base: { kind: 'scratch' },
      services: ['web', 'catalog', 'cart'],
      env: {},
      ports: [8080, 8081, 8082],
      labels: {},
      platform: { os: 'linux', architecture: 'amd64' },
    });
  });

  it('loads every field, resolving base paths against the workspace', async () => {
    const text = [
      'image: shop.v2',
      'bake: light',
      'base: {oci: bases/layout, ref: busybox}',
      'services:',
      '  - catalog',
      'entrypoint: [/bin/sh, -c, "exec /srv/catalog/run.sh"]',
      'env: {SHOP_REGION: local}',
      'ports: [9000, 8081]',
      'labels: {org.opencontainers.image.title: shop}',
      'platform: {os: linux, architecture: arm64}',
      '',
    ].join('\n');
    const dir = await workspace({ ...GOOD, 'bases/layout/index.json': '{}', 'recipes/shop.yml': text });
    const recipe = await loadRecipe(await loadWorkspace(dir), 'shop');
    expect(recipe).toEqual({
      image: 'shop.v2',
      file: join(dir, 'recipes/shop.yml'),
      bake: 'light',
      base: { kind: 'oci', layout: join(dir, 'bases/layout'), ref: 'busybox' },
      services: ['catalog'],
      entrypoint: ['/bin/sh', '-c', 'exec /srv/catalog/run.sh'],
      env: { SHOP_REGION: 'local' },
      ports: [9000, 8081],
      labels: { 'org.opencontainers.image.title': 'shop' },
      platform: { os: 'linux', architecture: 'arm64' },
    });
  });

  it('accepts a rootfs directory or tar archive, and provisioning for heavy bakes', async () => {
    const dir = await workspace({
      ...GOOD,
      'base/busybox/': '',
      'base/rootfs.tar': '',
      'recipes/a.yaml': 'base: {rootfs: base/busybox}\nservices: [web]\nprovision: [touch /x]\n',
      'recipes/b.yaml': 'base: {rootfs: base/rootfs.tar}\nservices: [web]\n',
    });
    const ws = await loadWorkspace(dir);
    expect(await loadRecipe(ws, 'a')).toMatchObject({ base: { kind: 'rootfs', path: join(dir, 'base/busybox') }, provision: ['touch /x'] });
    expect((await loadRecipe(ws, 'b')).base).toEqual({ kind: 'rootfs', path: join(dir, 'base/rootfs.tar') });
  });

  it('finds a recipe by its image: field when no file is named for it, and by path', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/x.yaml': 'image: store\nservices: [cart]\n', 'recipes/broken.yaml': 'services: [\n' });
    const ws = await loadWorkspace(dir);
    expect((await loadRecipe(ws, 'store')).file).toBe(join(dir, 'recipes/x.yaml'));
    expect((await loadRecipe(ws, 'recipes/x.yaml')).image).toBe('store');
    expect((await loadRecipe(ws, join(dir, 'recipes/x.yaml'))).image).toBe('store');
  });

  it('prefers the file named for the image over another recipe claiming its name', async () => {
    const dir = await workspace({
      ...GOOD,
      'recipes/a.yaml': 'image: b\nservices: [cart]\n',
      'recipes/b.yaml': 'image: c\nservices: [web]\n',
    });
    expect((await loadRecipe(await loadWorkspace(dir), 'b')).services).toEqual(['web']);
  });
});

describe('loadRecipe: each bad input is reported where it is, with a fix', () => {
  const cases: { name: string; text: string; files?: Record<string, string>; expected: Expected[] }[] = [
    {
      name: 'malformed YAML',
      text: 'services: [web, cart\n',
      expected: [{ line: 2, column: 1, message: /^YAML syntax: / }],
    },
    {
      name: 'a service missing from bake.yaml (close to a declared one)',
      text: 'image: shop\nservices: [catalog, carts]\n',
      expected: [
        {
          line: 2,
          column: 21,
          field: 'services[1]',
          message: 'service carts is not declared in bake.yaml',
          fix: 'did you mean cart? Declared services: catalog, cart, web',
        },
      ],
    },
    {
      name: 'a service missing from bake.yaml (close to nothing)',
      text: 'services:\n  - web\n  - payments\n',
      expected: [
        { line: 3, column: 5, field: 'services[1]', fix: 'declare it under services: in bake.yaml, or use one of: catalog, cart, web' },
      ],
    },
    {
      name: 'a service listed twice',
      text: 'services: [web, cart, web]\n',
      expected: [
        { line: 1, column: 23, field: 'services[2]', message: '"web" is listed twice (also services[0])', fix: 'remove the duplicate' },
      ],
    },
    {
      name: 'services that is a single name',
      text: 'services: web\n',
      expected: [
        {
          line: 1,
          column: 11,
          field: 'services',
          message: 'expected a list, got string "web"',
          fix: 'write it as [web] or as lines starting with "- "',
        },
      ],
    },
    {
      name: 'an empty services list',
      text: 'services: []\n',
      expected: [{ line: 1, column: 11, field: 'services', message: 'needs at least 1 item', fix: 'list at least 1' }],
    },
    {
      name: 'no services at all',
      text: 'image: shop\n',
      expected: [{ line: 1, column: 1, field: 'services', message: 'missing required key "services"' }],
    },
    {
      name: 'an unknown bake level',
      text: 'bake: medium\nservices: [web]\n',
      expected: [{ line: 1, column: 7, field: 'bake', message: 'unknown value "medium"', fix: 'use one of: heavy, light' }],
    },
    {
      name: 'a misspelt bake level',
      text: 'bake: lihgt\nservices: [web]\n',
      expected: [{ field: 'bake', fix: 'did you mean "light"? The values are: heavy, light' }],
    },
    {
      name: 'an unknown key',
      text: 'servics: [web]\n',
      expected: [
        { line: 1, column: 1, field: 'servics', message: 'unknown key "servics"', fix: 'did you mean "services"?' },
        { line: 1, column: 1, field: 'services', message: /missing required/ },
      ],
    },
    {
      name: 'a rootfs base that does not exist',
      text: 'base: {rootfs: base/busybox}\nservices: [web]\n',
      expected: [
        {
          line: 1,
          column: 16,
          field: 'base.rootfs',
          message: 'base root filesystem base/busybox does not exist',
          fix: /^point rootfs at a root filesystem directory or tar archive/,
        },
      ],
    },
    {
      name: 'an OCI base that does not exist',
      text: 'base: {oci: layouts/busybox, ref: latest}\nservices: [web]\n',
      expected: [{ line: 1, column: 13, field: 'base.oci', message: 'base OCI layout layouts/busybox does not exist' }],
    },
    {
      name: 'an OCI base that is not a layout',
      text: 'base: {oci: layouts/busybox, ref: latest}\nservices: [web]\n',
      files: { 'layouts/busybox/': '' },
      expected: [{ field: 'base.oci', message: 'base layouts/busybox is not an OCI image layout (no index.json in it)' }],
    },
    {
      name: 'an OCI base without a ref',
      text: 'base:\n  oci: layouts/busybox\nservices: [web]\n',
      files: { 'layouts/busybox/index.json': '{}' },
      expected: [{ line: 2, column: 3, field: 'base.ref', message: 'missing required key "ref"' }],
    },
    {
      name: 'a base of an unknown kind',
      text: 'base: {docker: busybox}\nservices: [web]\n',
      expected: [
        {
          line: 1,
          column: 8,
          field: 'base.docker',
          message: 'unknown key "docker"',
          fix: 'write scratch, {rootfs: DIR-or-TAR} or {oci: LAYOUT-DIR, ref: NAME}',
        },
      ],
    },
    {
      name: 'a misspelt base key',
      text: 'base: {rootf: base}\nservices: [web]\n',
      expected: [{ field: 'base.rootf', fix: /^did you mean "rootfs"\? Write scratch/ }],
    },
    {
      name: 'a base naming an image instead of scratch',
      text: 'base: busybox\nservices: [web]\n',
      expected: [
        {
          line: 1,
          column: 7,
          field: 'base',
          message: 'expected scratch, {rootfs: DIR-or-TAR} or {oci: LAYOUT-DIR, ref: NAME}, got string "busybox"',
        },
      ],
    },
    {
      name: 'a base that is two kinds at once',
      text: 'base: {rootfs: a, oci: b, ref: c}\nservices: [web]\n',
      expected: [{ field: 'base', message: 'rootfs and oci cannot be combined' }],
    },
    {
      name: 'a ref without its layout',
      text: 'base: {ref: latest}\nservices: [web]\n',
      expected: [{ field: 'base.ref', message: 'ref needs oci beside it' }],
    },
    {
      name: 'an absolute base path',
      text: 'base: {rootfs: /}\nservices: [web]\n',
      expected: [{ field: 'base.rootfs', message: /is not a path relative to the workspace/ }],
    },
    {
      name: 'a port out of range',
      text: 'services: [web]\nports: [8080, 0]\n',
      expected: [{ line: 2, column: 15, field: 'ports[1]', message: '0 is out of range' }],
    },
    {
      name: 'a non-Linux platform',
      text: 'services: [web]\nplatform: {os: windows, architecture: amd64}\n',
      expected: [{ field: 'platform.os', message: 'unknown value "windows"', fix: 'use one of: linux' }],
    },
    {
      name: 'label keys with dots keep the field path readable',
      text: 'services: [web]\nlabels: {org.example.team: 7}\n',
      expected: [{ field: 'labels."org.example.team"', message: 'expected a string, got number 7' }],
    },
    {
      name: 'provisioning in a light bake',
      text: 'bake: light\nservices: [web]\nprovision:\n  - touch /x\n',
      expected: [{ line: 3, column: 1, field: 'provision', message: /provision needs bake: heavy/ }],
    },
  ];

  it.each(cases)('$name', async ({ text, files, expected }) => {
    const dir = await workspace({ ...GOOD, ...files, 'recipes/shop.yaml': text });
    const problems = await problemsOf(loadRecipe(await loadWorkspace(dir), 'shop'));
    expectProblems(problems, expected);
    for (const p of problems) expect(p.file).toBe('recipes/shop.yaml');
  });

  it('reports every problem in a recipe at once', async () => {
    const text = 'image: Shop\nbake: light\nbase: {rootfs: nowhere}\nservices: [web, nope, web]\nports: [http]\n';
    const dir = await workspace({ ...GOOD, 'recipes/shop.yaml': text });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'shop')), [
      { line: 1, column: 8, field: 'image', message: /is not an image name/ },
      { line: 4, column: 23, field: 'services[2]', message: /listed twice/ },
      { line: 5, column: 9, field: 'ports[0]', message: /expected a whole number/ },
      { line: 4, column: 17, field: 'services[1]', message: 'service nope is not declared in bake.yaml' },
      { line: 3, column: 16, field: 'base.rootfs', message: /does not exist/ },
    ]);
  });

  it('reports a file name that cannot be the default image name', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/My Shop.yaml': 'services: [web]\n' });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'recipes/My Shop.yaml')), [
      { file: 'recipes/My Shop.yaml', line: 1, column: 1, field: 'image', fix: /add image: with a valid name, or rename the file/ },
    ]);
  });

  it('lists the recipes there are when the image is unknown', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/shop.yaml': 'services: [web]\n', 'recipes/x.yaml': 'image: store\nservices: [web]\n' });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'shopp')), [
      { file: 'recipes/shopp.yaml', message: 'no recipe for image shopp', fix: 'did you mean shop? Known images: shop, store' },
    ]);
  });

  it('lists the images there are when none is close', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/shop.yaml': 'services: [web]\n' });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'inventory')), [
      { fix: 'use one of: shop, or create recipes/inventory.yaml' },
    ]);
  });

  it('includes the problems of recipes it could not read when the image is unknown (it may be one of them)', async () => {
    const dir = await workspace({ ...GOOD, 'recipes/x.yaml': 'image: [store\n' });
    const problems = await problemsOf(loadRecipe(await loadWorkspace(dir), 'store'));
    expectProblems(problems, [
      { message: 'no recipe for image store', fix: /create recipes\/store\.yaml/ },
      { file: 'recipes/x.yaml', message: /YAML syntax/ },
    ]);
  });

  it('says how to start when there are no recipes', async () => {
    const dir = await workspace(GOOD);
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'shop')), [
      { message: 'no recipe for image shop', fix: 'create recipes/shop.yaml with services: [...] (see README)' },
    ]);
  });

  it('refuses an image two recipes claim', async () => {
    const dir = await workspace({
      ...GOOD,
      'recipes/a.yaml': 'image: shop\nservices: [web]\n',
      'recipes/b.yaml': 'image: shop\nservices: [cart]\n',
    });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'shop')), [
      { file: 'recipes/a.yaml', message: 'image shop is ambiguous: recipes/a.yaml and recipes/b.yaml both declare it' },
    ]);
  });

  it('names the missing file when given a path', async () => {
    const dir = await workspace(GOOD);
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'recipes/none.yaml')), [
      { file: 'recipes/none.yaml', message: 'cannot read recipes/none.yaml: no such file' },
    ]);
  });
});

describe('listRecipes', () => {
  it('lists image names in file-name order, skipping other files', async () => {
    const dir = await workspace({
      ...GOOD,
      'recipes/b.yaml': 'services: [web]\n',
      'recipes/a.yml': 'image: zeta\nservices: [cart]\n',
      'recipes/README.md': '# no\n',
      'recipes/.#b.yaml': 'junk',
      'recipes/old/': '',
    });
    expect(await listRecipes(await loadWorkspace(dir))).toEqual(['zeta', 'b']);
  });

  it('is empty without a recipes directory', async () => {
    expect(await listRecipes(await loadWorkspace(await workspace(GOOD)))).toEqual([]);
  });

  it('reports the problems of every invalid recipe, and images baked twice', async () => {
    const dir = await workspace({
      ...GOOD,
      'recipes/a.yaml': 'services: [nope]\n',
      'recipes/b.yaml': 'services: web\n',
      'recipes/c.yaml': 'image: d\nservices: [web]\n',
      'recipes/d.yaml': 'services: [web]\n',
    });
    expectProblems(await problemsOf(listRecipes(await loadWorkspace(dir))), [
      { file: 'recipes/a.yaml', field: 'services[0]' },
      { file: 'recipes/b.yaml', field: 'services' },
      { file: 'recipes/d.yaml', line: 1, column: 1, field: 'image', message: 'image d is also baked by recipes/c.yaml' },
    ]);
  });
});

describe('edit distance and suggestions', () => {
  it.each([
    ['instal', 'install', 1],
    ['lihgt', 'light', 1],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['same', 'same', 0],
  ] as const)('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it.each([
    ['carts', ['catalog', 'cart', 'web'], 'cart'],
    ['Install', ['install', 'run'], 'install'],
    ['c', ['a', 'b'], undefined],
    ['payments', ['catalog', 'cart', 'web'], undefined],
  ] as const)('closest(%s) is %s', (name, candidates, want) => {
    expect(closest(name, candidates)).toBe(want);
  });
});

describe('published JSON Schemas', () => {
  it('equal what the field specs generate now (after changing spec.ts: npx tsc -p . && node scripts/write-schemas.js)', async () => {
    const read = async (name: string): Promise<unknown> =>
      JSON.parse(await readFile(new URL(`../schemas/${name}`, import.meta.url), 'utf8'));
    expect(await read('bake.schema.json')).toEqual(workspaceJsonSchema());
    expect(await read('recipe.schema.json')).toEqual(recipeJsonSchema());
  });

  it('are draft 2020-12, closed to unknown keys, and describe every field', () => {
    const schema = workspaceJsonSchema() as {
      $schema: string;
      additionalProperties: boolean;
      properties: {
        services: { additionalProperties: { additionalProperties: boolean; properties: Record<string, { description?: string }> } };
      };
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    const service = schema.properties.services.additionalProperties;
    expect(service.additionalProperties).toBe(false);
    for (const [key, field] of Object.entries(service.properties)) expect(field.description, key).toBeTruthy();
  });
});
