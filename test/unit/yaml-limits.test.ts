import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRecipe } from '../../src/config/recipe.js';
import { loadWorkspace } from '../../src/config/workspace.js';
import { parseYaml } from '../../src/config/yaml-document.js';
import { YAML_LIMITS } from '../../src/config/yaml-limits.js';
import { ExitCode, InputError, type Problem } from '../../src/util/errors.js';
import { tempDir } from '../helpers/repo.js';

// Hostile input files, refused quickly and clearly: before these limits a 628-byte alias bomb grew
// to 4.3 GB over 5 minutes, a 50 MB bake.yaml took 1.8 GB, and deep nesting was a "syntax error".

/** Generous (a loaded CI machine took 2.8 s for 25,000 keys): a refusal takes milliseconds; what it replaces took minutes. */
const FAST_MS = 5000;

const cleanups: (() => Promise<void>)[] = [];
afterAll(() => Promise.all(cleanups.map((c) => c())));

/** A workspace directory with `bake.yaml` (text or bytes) and, optionally, a recipe. */
async function workspaceWith(bakeYaml: string | Buffer, recipe?: { name: string; text: string }): Promise<string> {
  const temp = await tempDir('yaml-limits');
  cleanups.push(temp.cleanup);
  await writeFile(join(temp.dir, 'bake.yaml'), bakeYaml);
  if (recipe) {
    await mkdir(join(temp.dir, 'recipes'));
    await writeFile(join(temp.dir, 'recipes', recipe.name), recipe.text);
  }
  return temp.dir;
}

/** Runs `load`, which must reject with an InputError within FAST_MS; returns its problems. */
async function refusedFast(load: () => Promise<unknown>): Promise<Problem[]> {
  const started = performance.now();
  const error = await load().then(
    () => undefined,
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  expect(error, 'expected an InputError').toBeInstanceOf(InputError);
  expect((error as InputError).exitCode).toBe(ExitCode.usage);
  expect(elapsed, 'milliseconds to refuse').toBeLessThan(FAST_MS);
  return (error as InputError).problems;
}

/** The classic "billion laughs": nine aliases of nine aliases, nine deep; 9^9 values in 628 bytes. */
function aliasBomb(): string {
  const lines = ['services: {}', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++)
    lines.push(
      `${names[i]}: &${names[i]} [${Array(9)
        .fill(`*${names[i - 1]}`)
        .join(', ')}]`,
    );
  const text = `${lines.join('\n')}\n`;
  return `${text}#${'.'.repeat(628 - text.length - 2)}\n`;
}

const WORKSPACE = 'services:\n  web: {source: web, install: /srv/web}\n';

describe('YAML input limits', () => {
  it('refuses a 628-byte alias bomb in bake.yaml at once, naming the file and the fix', async () => {
    const bomb = aliasBomb();
    expect(Buffer.byteLength(bomb)).toBe(628);
    const problems = await refusedFast(async () => loadWorkspace(await workspaceWith(bomb)));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      file: 'bake.yaml',
      line: expect.any(Number),
      message: expect.stringMatching(/aliases stand for more than 10000 values/),
    });
    expect(problems[0]?.fix).toMatch(/bake\.yaml/);
  });

  it('refuses the same bomb in a recipe, naming the recipe', async () => {
    const dir = await workspaceWith(WORKSPACE, { name: 'bomb.yaml', text: aliasBomb() });
    await mkdir(join(dir, 'web'));
    const ws = await loadWorkspace(dir);
    const problems = await refusedFast(() => loadRecipe(ws, 'bomb'));
    expect(problems).toMatchObject([
      { file: 'recipes/bomb.yaml', message: expect.stringMatching(/alias bomb/), fix: expect.stringMatching(/recipes\/bomb\.yaml/) },
    ]);
  });

  it('refuses a 50 MB bake.yaml before reading it', async () => {
    const dir = await workspaceWith(Buffer.alloc(50 * 1024 * 1024, '#'));
    const problems = await refusedFast(() => loadWorkspace(dir));
    expect(problems).toEqual([
      {
        file: 'bake.yaml',
        message: `bake.yaml is 52428800 bytes, more than the 256 KiB (${YAML_LIMITS.bytes} bytes) bake reads`,
        fix: "keep bake.yaml under 256 KiB: it declares services and images; data belongs in the services' own files",
      },
    ]);
  });

  it.each([
    ['flow brackets', `services: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`],
    ['unclosed flow brackets', `services: ${'{a: ['.repeat(40_000)}\n`],
    ['compact "- " items on one line', `services:\n  ${'- '.repeat(100_000)}x\n`],
    ['indentation', Array.from({ length: 400 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
  ])('refuses deep nesting by %s as too deep, not as a syntax error', async (_, yaml) => {
    expect(Buffer.byteLength(yaml)).toBeLessThanOrEqual(YAML_LIMITS.bytes);
    const problems = await refusedFast(async () => loadWorkspace(await workspaceWith(yaml)));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      file: 'bake.yaml',
      message: expect.stringMatching(/nested more than 64 levels deep/),
      fix: expect.stringMatching(/^flatten bake\.yaml/),
    });
    expect(problems[0]?.message).not.toMatch(/YAML syntax/);
  });

  it('refuses a bake.yaml that is not a regular file instead of reading it forever', async () => {
    const temp = await tempDir('yaml-fifo');
    cleanups.push(temp.cleanup);
    execFileSync('mkfifo', [join(temp.dir, 'bake.yaml')]);
    const problems = await refusedFast(() => loadWorkspace(temp.dir));
    expect(problems).toMatchObject([{ file: 'bake.yaml', message: 'cannot read bake.yaml: it is not a regular file' }]);
  });
});

describe('YAML limits: where they lie', () => {
  const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}\n`;
  const indented = (levels: number) => `${Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}k:`).join('\n')} 1\n`;
  const tooDeep = (text: string) => () => parseYaml(text, 'x.yaml');

  it('takes 64 levels of nesting, and refuses 65, however they are written', () => {
    for (const write of [nested, indented, (n: number) => `${'- '.repeat(n)}x\n`]) {
      expect(() => parseYaml(write(64), 'x.yaml')).not.toThrow();
      expect(tooDeep(write(65))).toThrow(/nested more than 64 levels deep/);
    }
  });

  it('counts what an alias stands for towards the depth', () => {
    // The root mapping, 33 lists around the alias, and the 30 it stands for: 64; one more list is 65.
    expect(() => parseYaml(`a: &a ${nested(30)}b: ${'['.repeat(33)}*a${']'.repeat(33)}\n`, 'x.yaml')).not.toThrow();
    expect(tooDeep(`a: &a ${nested(30)}b: ${'['.repeat(34)}*a${']'.repeat(34)}\n`)).toThrow(/nested more than 64 levels deep/);
  });

  it(`lets aliases stand for ${YAML_LIMITS.aliasValues} values in all, and no more`, () => {
    const aliases = (n: number) => `a: &a 1\nb:\n${'  - *a\n'.repeat(n)}`;
    expect(() => parseYaml(aliases(YAML_LIMITS.aliasValues), 'x.yaml')).not.toThrow();
    expect(() => parseYaml(aliases(YAML_LIMITS.aliasValues + 1), 'x.yaml')).toThrow(/aliases stand for more than/);
  });

  it(`reads a file of exactly ${YAML_LIMITS.bytes} bytes, and refuses one byte more`, () => {
    const padded = (size: number) => `a: 1\n#${'.'.repeat(size - 7)}\n`;
    expect(Buffer.byteLength(padded(YAML_LIMITS.bytes))).toBe(YAML_LIMITS.bytes);
    expect(() => parseYaml(padded(YAML_LIMITS.bytes), 'x.yaml')).not.toThrow();
    expect(() => parseYaml(padded(YAML_LIMITS.bytes + 1), 'x.yaml')).toThrow(/more than the 256 KiB/);
  });

  it('finds duplicate keys in a large mapping quickly, counting 1 and "1" as one key', () => {
    // yaml's own duplicate check compares every key with every other: 25 000 keys took seconds.
    const keys = Array.from({ length: 25_000 }, (_, i) => `k${i}: 1\n`).join('');
    const started = performance.now();
    expect(() => parseYaml(keys, 'x.yaml')).not.toThrow();
    expect(performance.now() - started).toBeLessThan(FAST_MS);
    expect(() => parseYaml(`${keys}"1": a\n1: b\n`, 'x.yaml')).toThrow(/x\.yaml:25002:1: YAML syntax: duplicate key/);
  });
});
