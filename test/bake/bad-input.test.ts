import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { sqliteExec } from '../helpers/sqlite-file.js';
import { shopRepo, writeFiles, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');
const JSON_STORE = { BAKE_DATABASE_URL: 'json' };

/** Writes the default store's manifest to `file` (what a workspace made before the database holds). */
async function exportTo(dir: string, file: string): Promise<void> {
  const run = await bake(['-C', dir, 'export', '--out', file]);
  expect(run.exitCode, run.stderr).toBe(0);
}

/** A fingerprint of everything under .bake/: any change to recorded state shows up here. */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(path: string) {
    for (const name of (await readdir(path)).sort()) {
      const full = join(path, name);
      const info = await stat(full);
      hash.update(`${full}\0${info.mode}\0`);
      if (info.isDirectory()) await walk(full);
      else hash.update(await readFile(full));
    }
  }
  await walk(join(dir, '.bake'));
  return hash.digest('hex');
}

describe.skipIf(tools.skip)('bad input gets a clear error and loses nothing', () => {
  let repo: Repo;
  let original: { yaml: string; recipe: string };
  let head: string;

  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    original = {
      yaml: await readFile(join(repo.dir, 'bake.yaml'), 'utf8'),
      recipe: await readFile(join(repo.dir, 'recipes', 'shop.yaml'), 'utf8'),
    };
    expect((await bake(['-C', repo.dir, 'commit', '--all'])).exitCode).toBe(0);
    expect((await bake(['-C', repo.dir, 'build', 'shop'])).exitCode).toBe(0);
    head = (await repo.git('rev-parse', 'HEAD')).trim();
  });
  afterAll(() => repo?.cleanup());

  interface Case {
    name: string;
    files?: Record<string, string>;
    setup?: (dir: string) => Promise<void>;
    args: string[];
    exit: number;
    expect: RegExp[];
    env?: Record<string, string>;
  }

  const cases: Case[] = [
    {
      name: 'malformed YAML',
      files: { 'bake.yaml': 'services:\n  catalog: {source: services/catalog\n' },
      args: ['commit', '--all'],
      exit: 2,
      expect: [/bake\.yaml:\d+:\d+/, /YAML syntax/],
    },
    {
      name: 'an unknown key, with a suggestion',
      files: { 'bake.yaml': 'services:\n  catalog:\n    source: services/catalog\n    instal: /srv/catalog\n' },
      args: ['commit', '--all'],
      exit: 2,
      expect: [
        /bake\.yaml:4:5: services\.catalog\.instal: unknown key "instal" \(fix: did you mean "install"\?\)/,
        /missing required key "install"/,
      ],
    },
    {
      name: 'a recipe naming a missing service',
      files: { 'recipes/shop.yaml': 'image: shop\nbase: scratch\nservices: [catalog, carts]\n' },
      args: ['build', 'shop'],
      exit: 2,
      expect: [
        /recipes\/shop\.yaml:3:21: services\[1\]: service carts is not declared in bake\.yaml \(fix: did you mean cart\? Declared services: catalog, cart, web\)/,
      ],
    },
    { name: 'an unknown image', args: ['build', 'shopp'], exit: 2, expect: [/no recipe for image shopp/, /did you mean shop\?/] },
    { name: 'an unknown service', args: ['commit', 'nope'], exit: 2, expect: [/unknown service nope/] },
    {
      name: 'a bad SOURCE_DATE_EPOCH',
      args: ['commit', '--all'],
      env: { SOURCE_DATE_EPOCH: 'yesterday' },
      exit: 2,
      expect: [/SOURCE_DATE_EPOCH/],
    },
    {
      name: 'a committed symlink pointing out of the service',
      setup: async (dir) => {
        await writeFiles(dir, { 'services/cart/escape': { symlink: '../../../etc/passwd' } });
        execFileSync('git', ['add', '-A'], { cwd: dir });
        execFileSync('git', ['commit', '-qm', 'escape'], { cwd: dir });
      },
      args: ['commit', 'cart'],
      exit: 2,
      expect: [/service cart/, /symlink escape -> \.\.\/\.\.\/\.\.\/etc\/passwd points outside the service/],
    },
    {
      name: 'an absolute symlink',
      setup: async (dir) => {
        await writeFiles(dir, { 'services/cart/abs': { symlink: '/etc/shadow' } });
        execFileSync('git', ['add', '-A'], { cwd: dir });
        execFileSync('git', ['commit', '-qm', 'abs'], { cwd: dir });
      },
      args: ['commit', 'cart'],
      exit: 2,
      expect: [/symlink abs -> \/etc\/shadow points outside the service/],
    },
    {
      name: 'a service directory with nothing committed',
      setup: async (dir) => {
        await writeFiles(dir, { 'services/new/run.sh': 'echo new\n' });
        await writeFile(join(dir, 'bake.yaml'), `${original.yaml}  new: {source: services/new, install: /srv/new}\n`);
      },
      args: ['commit', 'new'],
      exit: 2,
      expect: [/service new/, /no committed files/, /git add/],
    },
    {
      name: 'a fifo in a plain-directory source',
      setup: async (dir) => {
        await mkdir(join(dir, 'plain'), { recursive: true });
        execFileSync('mkfifo', [join(dir, 'plain', 'pipe')]);
      },
      args: ['commit', 'cart', '--from', 'PLAIN'],
      exit: 2,
      expect: [/pipe is a device, fifo or socket/],
    },
    // The JSON file store (BAKE_DATABASE_URL=json, a workspace made before the database): its file,
    // exported from the default store, then broken.
    {
      name: 'a corrupt manifest file (json store)',
      setup: async (dir) => {
        await exportTo(dir, join(dir, '.bake', 'manifest.json'));
        await writeFile(join(dir, '.bake', 'manifest.json'), '{"schema": 1, "generation": 3, ');
      },
      env: JSON_STORE,
      args: ['commit', '--all'],
      exit: 1,
      expect: [/manifest\.json is corrupt/, /will not overwrite/],
    },
    {
      name: 'a manifest file from a newer bake (json store)',
      setup: async (dir) => {
        const file = join(dir, '.bake', 'manifest.json');
        await exportTo(dir, file);
        const m = JSON.parse(await readFile(file, 'utf8'));
        await writeFile(file, JSON.stringify({ ...m, schema: 99 }));
      },
      env: JSON_STORE,
      args: ['build', 'shop'],
      exit: 1,
      expect: [/schema 99, newer than this bake understands/],
    },
    // The default store, .bake/state.db.
    {
      name: 'a corrupt store (sqlite: garbage bytes)',
      setup: async (dir) => writeFile(join(dir, '.bake', 'state.db'), randomBytes(16 * 1024)),
      args: ['commit', '--all'],
      exit: 1,
      expect: [/state\.db/, /not a database/],
    },
    {
      name: 'a store from a newer bake (sqlite)',
      setup: async (dir) => sqliteExec(join(dir, '.bake', 'state.db'), 'UPDATE bake_meta SET schema = 99'),
      args: ['build', 'shop'],
      exit: 1,
      expect: [/state\.db has store schema 99, newer than this bake understands/, /Nothing was changed/],
    },
    {
      name: 'a store from a newer bake, read (sqlite)',
      setup: async (dir) => sqliteExec(join(dir, '.bake', 'state.db'), 'UPDATE bake_meta SET schema = 99'),
      args: ['status'],
      exit: 1,
      expect: [/schema 99, newer than this bake understands/],
    },
    { name: 'an unknown flag', args: ['build', '--fast', 'shop'], exit: 2, expect: [/Unknown option '--fast'/] },
  ];

  for (const c of cases) {
    it(`${c.name}: exit ${c.exit}, names the problem, leaves .bake/ untouched`, async () => {
      // Each case starts from the pristine fixture and restores it afterwards.
      await writeFile(join(repo.dir, 'bake.yaml'), original.yaml);
      await writeFile(join(repo.dir, 'recipes', 'shop.yaml'), original.recipe);
      const storeBefore = await readFile(join(repo.dir, '.bake', 'state.db'));
      try {
        if (c.files) for (const [path, text] of Object.entries(c.files)) await writeFile(join(repo.dir, path), text);
        await c.setup?.(repo.dir);
        const before = await fingerprint(repo.dir);
        const args = c.args.map((a) => (a === 'PLAIN' ? join(repo.dir, 'plain') : a));
        const run = await bake(['-C', repo.dir, ...args], c.env ? { env: c.env } : {});
        expect(run.exitCode, run.stderr).toBe(c.exit);
        for (const pattern of c.expect) expect(run.stderr).toMatch(pattern);
        expect(await fingerprint(repo.dir), '.bake/ must be unchanged').toBe(before);
        const json = await bake(['-C', repo.dir, '--json', ...args], c.env ? { env: c.env } : {});
        expect(json.json?.error?.kind, json.stdout).toBeTruthy();
      } finally {
        // Back to the default store as it was (a case may have exported a JSON file beside it).
        for (const name of ['manifest.json', 'state.db-wal', 'state.db-shm']) await rm(join(repo.dir, '.bake', name), { force: true });
        await writeFile(join(repo.dir, '.bake', 'state.db'), storeBefore);
        execFileSync('git', ['reset', '-q', '--hard', head], { cwd: repo.dir });
        execFileSync('git', ['clean', '-qfdx', '-e', '.bake'], { cwd: repo.dir });
      }
    });
  }
});
