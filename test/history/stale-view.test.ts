import { afterEach, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/require-tools.js';
import { MODES, teams, type Team, type Teams } from './setup.js';

const tools = requireTools('git');

/** Team 1's first round: commit everything, bake, release to prod. */
async function baseline(team: Team): Promise<void> {
  for (const args of [
    ['commit', '--all'],
    ['build', 'shop'],
    ['release', 'shop', '--env', 'prod'],
  ]) {
    const run = await team.bake(args);
    expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(0);
  }
}

async function liveVector(world: Teams): Promise<Record<string, number> | undefined> {
  const manifest = await world.manifest();
  const prod = manifest.environments['prod'];
  return prod?.releases.find((r) => r.id === prod.live['shop'])?.vector;
}

// The race of the issue: team 2 bakes from a view older than what team 1 already shipped.
describe.skipIf(tools.skip).each(MODES)('the stale-view race (%s)', (mode) => {
  let world: Teams;
  afterEach(() => world?.cleanup());

  /** Team 1 ships a change to a; team 2, which has not pulled, changes b. */
  async function staleView(): Promise<{ one: Team; two: Team; shipped: string; seed: string }> {
    world = await teams(mode);
    const one = await world.team('team1');
    const two = await world.team('team2');
    const seed = await one.git('rev-parse', 'HEAD');
    await baseline(one);
    const shipped = await one.change({ 'services/a/VERSION': 'a 2 by team 1\n' });
    expect(await one.push()).toBe(true);
    const commit = await one.bake(['commit', 'a']);
    expect(commit.json.commits[0]).toMatchObject({ service: 'a', version: 2, created: true, revision: shipped });
    expect((await one.bake(['build', 'shop'])).exitCode).toBe(0);
    expect((await one.bake(['release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    await two.change({ 'services/b/VERSION': 'b 2 by team 2\n' });
    return { one, two, shipped, seed };
  }

  it('commit --all then build: the old copy of a is refused (behind), b is recorded, team 1’s change stays live', async () => {
    const { two, shipped, seed } = await staleView();
    const commit = await two.bake(['commit', '--all']);
    expect(commit.exitCode, commit.stderr).toBe(3);
    expect(commit.json.commits).toEqual([expect.objectContaining({ service: 'b', version: 2, created: true })]);
    expect(commit.json.refused).toEqual([
      expect.objectContaining({
        kind: 'behind',
        service: 'a',
        candidate: seed,
        recorded: expect.objectContaining({ version: 2, revision: shipped, author: 'team1 <team1@teams.invalid>' }),
      }),
    ]);
    // Exit 3 ↔ an error document of the refusal, as for every refusal.
    expect(commit.json.error).toMatchObject({ kind: 'behind', service: 'a' });
    const message: string = commit.json.error.message;
    for (const part of [
      'a v2',
      shipped.slice(0, 12),
      seed.slice(0, 12),
      'team1 <team1@teams.invalid>',
      '2026-01-01T00:00:00Z',
      'git pull',
    ]) {
      expect(message).toContain(part);
    }

    const build = await two.bake(['build', 'shop']);
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.json.builds[0].vector).toEqual({ a: 2, b: 2 });
    expect((await two.bake(['release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    expect(await liveVector(world)).toEqual({ a: 2, b: 2 });

    const manifest = await world.manifest();
    expect(manifest.services['a']?.versions.map((v) => v.revision)).toEqual([seed, shipped]);
    // The recorded actor is the caller's, locally and through the service.
    expect(manifest.services['a']?.versions.map((v) => v.recordedBy)).toEqual(['ci-team1', 'ci-team1']);
    expect(manifest.services['b']?.versions.at(-1)?.recordedBy).toBe('ci-team2');
    expect(manifest.services['a']?.refusals).toEqual([
      expect.objectContaining({ kind: 'behind', by: 'ci-team2', version: 2, revision: shipped, candidate: seed }),
    ]);
    const log = await two.bake(['log', '--service', 'a']);
    expect(log.json.events.map((e: { summary: string }) => e.summary)).toContainEqual(
      expect.stringMatching(/^REFUSED commit a from rev .*behind/),
    );

    // Once team 2 has pulled, nothing is left to refuse.
    await two.pull();
    const again = await two.bake(['commit', '--all']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json.commits.map((c: { created: boolean }) => c.created)).toEqual([false, false]);
    expect(again.json.refused).toEqual([]);
  });

  it('build --commit: refused before baking, with nothing new released; after a pull it bakes both changes', async () => {
    const { two, shipped } = await staleView();
    const buildsBefore = (await world.manifest()).builds['shop']?.length;
    const run = await two.bake(['build', '--commit', 'shop']);
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.json.error).toMatchObject({ kind: 'behind', service: 'a', recorded: expect.objectContaining({ revision: shipped }) });
    const manifest = await world.manifest();
    expect(manifest.builds['shop']?.length).toBe(buildsBefore);
    expect(manifest.services['a']?.versions).toHaveLength(2);
    expect(await liveVector(world)).toEqual({ a: 2, b: 1 });

    await two.pull();
    const after = await two.bake(['build', '--commit', 'shop']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.json.builds[0].vector).toEqual({ a: 2, b: 2 });
    expect((await two.bake(['release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    expect(await liveVector(world)).toEqual({ a: 2, b: 2 });
  });
});
