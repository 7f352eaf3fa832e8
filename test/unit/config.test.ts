import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recipeJsonSchema, workspaceJsonSchema } from '../../src/config/json-schema.js';
import { loadRecipe } from '../../src/config/recipe.js';
import { loadWorkspace } from '../../src/config/workspace.js';
import { InputError, type Problem } from '../../src/errors.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function workspace(yaml: string, recipes: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bake-config-'));
  dirs.push(dir);
  await mkdir(join(dir, 'svc', 'a'), { recursive: true });
  await mkdir(join(dir, 'svc', 'b'), { recursive: true });
  await mkdir(join(dir, 'recipes'));
  await writeFile(join(dir, 'bake.yaml'), yaml);
  for (const [name, text] of Object.entries(recipes)) await writeFile(join(dir, 'recipes', name), text);
  return dir;
}

async function problemsOf(promise: Promise<unknown>): Promise<Problem[]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as InputError).problems;
  }
  throw new Error('expected an InputError');
}

/** Each problem matches its expectation: exact values, or patterns for text. */
function expectProblems(problems: Problem[], file: string, expected: readonly Record<string, string | number | RegExp>[]) {
  expect(problems).toHaveLength(expected.length);
  expected.forEach((want, i) => {
    const got = problems[i] as Problem;
    expect(got.file).toBe(file);
    for (const [key, value] of Object.entries(want)) {
      if (value instanceof RegExp) expect(String(got[key as keyof Problem])).toMatch(value);
      else expect(got[key as keyof Problem]).toBe(value);
    }
  });
}

const good = 'services:\n  a:\n    source: svc/a\n    install: /srv/a/\n    run: /srv/a/run.sh\n    port: 8081\n  b: {source: svc/b, install: /srv/b, port: 8082, env: {MODE: fast}}\n';

describe('loadWorkspace', () => {
  it('loads a good file, resolving and normalizing paths', async () => {
    const dir = await workspace(good);
    const ws = await loadWorkspace(dir);
    expect(ws.services.get('a')).toMatchObject({ name: 'a', source: join(dir, 'svc/a'), install: '/srv/a', port: 8081, env: {} });
    expect(ws.services.get('b')?.env).toEqual({ MODE: 'fast' });
  });

  it.each([
    ['malformed YAML', 'services:\n  a: {source: svc/a\n', [{ line: 3, message: /YAML syntax/ }]],
    ['an unknown key, with a suggestion', 'services:\n  a:\n    source: svc/a\n    instal: /srv/a\n', [{ line: 4, column: 5, field: 'services.a.instal', fix: /did you mean "install"/ }, { line: 3, field: 'services.a.install', message: /missing required/ }]],
    ['a port as a string', 'services:\n  a: {source: svc/a, install: /srv/a, port: "80"}\n', [{ line: 2, column: 45, field: 'services.a.port', fix: /without quotes/ }]],
    ['a port out of range', 'services:\n  a: {source: svc/a, install: /srv/a, port: 70000}\n', [{ field: 'services.a.port', message: /out of range/ }]],
    ['a relative install path', 'services:\n  a: {source: svc/a, install: srv/a}\n', [{ field: 'services.a.install', fix: /absolute path/ }]],
    ['a missing source directory', 'services:\n  a: {source: svc/nope, install: /srv/a}\n', [{ line: 2, field: 'services.a.source', message: /does not exist/ }]],
    ['overlapping install paths', 'services:\n  a: {source: svc/a, install: /srv}\n  b: {source: svc/b, install: /srv/b}\n', [{ line: 3, field: 'services.b.install', message: /overlaps/ }]],
    ['a bad service name', 'services:\n  Bad_Name: {source: svc/a, install: /srv/a}\n', [{ line: 2, column: 3, field: 'services.Bad_Name', message: /invalid name/ }]],
    ['services that is a list', 'services:\n  - a\n', [{ field: 'services', message: /expected a mapping, got list/ }]],
  ] as const)('reports %s at its position', async (_name, yaml, expected) => {
    expectProblems(await problemsOf(loadWorkspace(await workspace(yaml))), 'bake.yaml', expected);
  });

  it('reports every problem in a file at once', async () => {
    const problems = await problemsOf(loadWorkspace(await workspace('services:\n  a: {source: svc/a, install: x, port: 0, colour: red}\n  b: {install: /srv/b}\n')));
    expect(problems.map((p) => p.field)).toEqual(['services.a.install', 'services.a.port', 'services.a.colour', 'services.b.source']);
  });

  it('says what to do when there is no bake.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bake-config-'));
    dirs.push(dir);
    const problems = await problemsOf(loadWorkspace(dir));
    expect(problems[0]?.message).toMatch(/no bake\.yaml/);
  });
});

describe('loadRecipe', () => {
  it('loads a recipe with defaults', async () => {
    const dir = await workspace(good, { 'shop.yaml': 'services: [a, b]\n' });
    const recipe = await loadRecipe(await loadWorkspace(dir), 'shop');
    expect(recipe).toMatchObject({ image: 'shop', bake: 'heavy', base: { kind: 'scratch' }, services: ['a', 'b'], ports: [8081, 8082], platform: { os: 'linux', architecture: 'amd64' } });
  });

  it('finds a recipe by its image: field', async () => {
    const dir = await workspace(good, { 'x.yaml': 'image: store\nservices: [a]\n' });
    expect((await loadRecipe(await loadWorkspace(dir), 'store')).image).toBe('store');
  });

  it.each([
    ['a missing service', 'services: [a, c]\n', [{ line: 1, column: 15, field: 'services[1]', message: /service c is not declared/ }]],
    ['a duplicate service', 'services: [a, a]\n', [{ field: 'services[1]', message: /listed twice/ }]],
    ['an unknown bake level', 'bake: medium\nservices: [a]\n', [{ line: 1, column: 7, field: 'bake', fix: /heavy, light/ }]],
    ['a missing rootfs', 'base: {rootfs: nowhere}\nservices: [a]\n', [{ field: 'base', message: /does not exist/ }]],
    ['a base that is neither', 'base: {docker: busybox}\nservices: [a]\n', [{ field: 'base', fix: /scratch/ }]],
    ['no services', 'image: shop\n', [{ field: 'services', message: /missing required/ }]],
  ] as const)('reports %s', async (_name, text, expected) => {
    const dir = await workspace(good, { 'shop.yaml': text });
    expectProblems(await problemsOf(loadRecipe(await loadWorkspace(dir), 'shop')), 'recipes/shop.yaml', expected);
  });

  it('names the recipes there are when an image is unknown', async () => {
    const dir = await workspace(good, { 'shop.yaml': 'services: [a]\n' });
    const problems = await problemsOf(loadRecipe(await loadWorkspace(dir), 'shoe'));
    expect(problems[0]?.fix).toMatch(/did you mean shop/);
  });
});

describe('published JSON Schemas', () => {
  it('match what the field specs generate (run `node scripts/write-schemas.js` after changing them)', async () => {
    const root = join(__dirname, '..', '..', 'schemas');
    expect(JSON.parse(await readFile(join(root, 'bake.schema.json'), 'utf8'))).toEqual(workspaceJsonSchema());
    expect(JSON.parse(await readFile(join(root, 'recipe.schema.json'), 'utf8'))).toEqual(recipeJsonSchema());
  });
});
