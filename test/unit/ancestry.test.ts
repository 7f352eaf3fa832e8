import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ancestryOf } from '../../src/history/ancestry.js';
import { cloneRepo, gitRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

// A central repository and two clones, as two teams have them: one history, two views of it.
describe.skipIf(tools.skip)('ancestry in the caller’s git history', () => {
  let central: Repo;
  let team1: Repo;
  let team2: Repo;
  let base: string;
  let ahead: string;
  let fork: string;
  let unfetched: string;

  beforeAll(async () => {
    central = await gitRepo({ 'a/file': 'v1\n' });
    base = await central.git('rev-parse', 'HEAD');
    team1 = await cloneRepo(central.dir);
    team2 = await cloneRepo(central.dir);
    await writeFile(join(team1.dir, 'a/file'), 'v2\n');
    ahead = await team1.commitAll('team 1 changes a', '2026-01-02T00:00:00Z');
    await writeFile(join(team2.dir, 'a/file'), 'v3\n');
    fork = await team2.commitAll('team 2 changes a too', '2026-01-03T00:00:00Z');
    unfetched = ahead; // team 2 never fetched team 1's commit
    await team2.git('fetch', '-q', team1.dir, 'main:team1');
  });
  afterAll(async () => {
    await Promise.all([central, team1, team2].map((r) => r?.cleanup()));
  });

  it('a descendant (or the same revision) follows', async () => {
    expect(await ancestryOf(team1.dir, base, ahead)).toBe('descends');
    expect(await ancestryOf(team1.dir, ahead, ahead)).toBe('descends');
  });

  it('an ancestor is behind', async () => {
    expect(await ancestryOf(team1.dir, ahead, base)).toBe('behind');
  });

  it('two sides that both moved have diverged', async () => {
    expect(await ancestryOf(team2.dir, ahead, fork)).toBe('diverged');
  });

  it('a recorded revision the caller never fetched is missing (not descended)', async () => {
    const fresh = await cloneRepo(central.dir);
    try {
      expect(await ancestryOf(fresh.dir, unfetched, base)).toBe('missing');
    } finally {
      await fresh.cleanup();
    }
  });

  it('refuses what is not a full object id instead of asking git to resolve it', async () => {
    await expect(ancestryOf(team1.dir, 'HEAD', ahead)).rejects.toThrow(/not full git object ids/);
  });
});
