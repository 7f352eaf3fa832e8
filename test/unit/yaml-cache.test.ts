import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readYamlFileCached } from '../../src/config/yaml-cache.js';
import { readYamlFile } from '../../src/config/yaml-document.js';
import { InputError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/repo.js';

/**
 * The parsed-YAML cache may only ever save time: the tree it gives is the parser's for those exact
 * bytes, problems are always the parser's own, and a cache file that is damaged, or was written
 * by another build of bake, is never believed.
 */
describe('parsed YAML kept by content', () => {
  let temp: { dir: string; cleanup(): Promise<void> };
  let cache: string;
  const global = globalThis as { __bakeCache?: { dir: string; build: string } };

  beforeAll(async () => {
    temp = await tempDir('yaml-cache');
    cache = join(temp.dir, 'cache');
    await mkdir(cache);
  });
  afterEach(() => {
    delete global.__bakeCache;
  });
  afterAll(() => temp.cleanup());

  const file = (name: string) => join(temp.dir, name);
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  /** The entry's key as the cache computes it: the build and the exact bytes. */
  const keyOf = (build: string, text: string) => sha256(`bake-yaml-tree-v1\0${build}\0${text}`);
  const entries = async () => (await readdir(cache)).filter((n) => n.startsWith('yaml-'));

  it('gives the tree the parser gives, from memory or from the cache directory', async () => {
    global.__bakeCache = { dir: cache, build: 'build-1' };
    const text = 'services:\n  a: {source: services/a, install: /srv/a, port: 8080}\n  b: {source: b, install: /srv/b, env: {X: "1"}}\n';
    await writeFile(file('one.yaml'), text);
    const first = await readYamlFileCached(file('one.yaml'), 'one.yaml');
    expect(first).toEqual(await readYamlFile(file('one.yaml'), 'one.yaml'));
    expect(await entries()).toHaveLength(1);
    // Another file with the same bytes: the same entry; each caller gets its own copy.
    await writeFile(file('two.yaml'), text);
    const again = await readYamlFileCached(file('two.yaml'), 'two.yaml');
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    expect(await entries()).toHaveLength(1);
  });

  it('believes no damaged entry and none of another build', async () => {
    const text = 'image: shop\nservices: [a, b]\n';
    await writeFile(file('three.yaml'), text);
    const truth = await readYamlFile(file('three.yaml'), 'three.yaml');
    // Entries planted before this process parsed these bytes: one torn, one whose body does not
    // match its checksum. Both are parsed again, and replaced.
    const lie = JSON.stringify({ ...truth, kind: 'null' });
    for (const [build, stored] of [
      ['build-2', lie.slice(0, 20)],
      ['build-3', `${sha256('something else')}\n${lie}`],
    ] as const) {
      global.__bakeCache = { dir: cache, build };
      const entry = join(cache, `yaml-${keyOf(build, text)}.json`);
      await writeFile(entry, stored);
      expect(await readYamlFileCached(file('three.yaml'), 'three.yaml')).toEqual(truth);
      expect((await readFile(entry, 'utf8')).startsWith(`${sha256(JSON.stringify(truth))}\n`)).toBe(true);
    }
    // A well-formed entry of another build is never even read: the key is the build's.
    global.__bakeCache = { dir: cache, build: 'build-4' };
    await writeFile(join(cache, `yaml-${keyOf('build-5', text)}.json`), `${sha256(lie)}\n${lie}`);
    expect(await readYamlFileCached(file('three.yaml'), 'three.yaml')).toEqual(truth);
  });

  it('reports problems as the parser does, whatever was cached for the file before', async () => {
    global.__bakeCache = { dir: cache, build: 'build-6' };
    await writeFile(file('bad.yaml'), 'services: {a: 1}\n');
    await readYamlFileCached(file('bad.yaml'), 'bad.yaml');
    await writeFile(file('bad.yaml'), 'services: {a: 1\n');
    const parser = await readYamlFile(file('bad.yaml'), 'bad.yaml').catch((e: unknown) => e);
    const cached = await readYamlFileCached(file('bad.yaml'), 'bad.yaml').catch((e: unknown) => e);
    expect(parser).toBeInstanceOf(InputError);
    expect((cached as InputError).problems).toEqual((parser as InputError).problems);
  });

  it('keeps no tree JSON cannot carry exactly', async () => {
    global.__bakeCache = { dir: cache, build: 'build-7' };
    const before = (await entries()).length;
    await writeFile(file('odd.yaml'), 'a: .inf\nb: -0.0\nc: !!binary aGVsbG8=\n');
    const tree = await readYamlFileCached(file('odd.yaml'), 'odd.yaml');
    expect(tree).toEqual(await readYamlFile(file('odd.yaml'), 'odd.yaml'));
    expect((await entries()).length).toBe(before);
  });
});
