import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { freePort } from '../helpers/registry.js';
import { requireTools } from '../helpers/require-tools.js';
import { historySeed } from './setup.js';

const tools = requireTools('git');

// The deploy side runs where the environment runs; with a bake service named it must refuse at
// once (exit 2), never run against an empty local manifest and leave a stray .bake/ behind.
const DEPLOY_SIDE: string[][] = [
  ['deploy', 'shop', '--env', 'dev'],
  ['up', 'dev'],
  ['down', 'dev'],
  ['promote', '--env', 'dev'],
  ['rollback', '--env', 'dev'],
  ['toggle', 'search', 'on', '--env', 'dev'],
  ['verify', 'dev'],
  ['upgrade', '--env', 'dev'],
  ['abort', '--env', 'dev'],
];

describe.skipIf(tools.skip)('every command honours BAKE_SERVICE', () => {
  it.each(DEPLOY_SIDE)('bake %s … refuses at once with exit 2 and writes nothing', async (...args) => {
    const repo = await historySeed(['a']);
    try {
      // Nothing listens there: a command that tried to reach it would fail otherwise (exit 1), not 2.
      const url = `http://127.0.0.1:${await freePort()}`;
      const started = Date.now();
      const run = await bake(['-C', repo.dir, '--json', ...args], { env: { BAKE_SERVICE: url } });
      expect(run.exitCode, run.stderr).toBe(2);
      expect(run.json.error.kind).toBe('usage');
      expect(run.stderr).toContain(`does not run through a bake service, and one is named (BAKE_SERVICE=${url})`);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await readdir(repo.dir)).not.toContain('.bake');
    } finally {
      await repo.cleanup();
    }
  });
});
