import { afterEach, describe, expect, it } from 'vitest';
import type { BakeRun } from '../helpers/bake-cli.js';
import { requireTools } from '../helpers/require-tools.js';
import { type OpenStore, stores } from '../helpers/stores.js';
import { MODES, teams, type Team, type Teams } from './setup.js';

const tools = requireTools('git');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The CI job on a push: commit what changed, bake, release; it stops at the first failure, as `set -e` does. */
async function ciJob(team: Team, delays: number[]): Promise<BakeRun[]> {
  const runs: BakeRun[] = [];
  for (const [i, args] of [
    ['commit', '--all'],
    ['build', 'shop'],
    ['release', 'shop', '--env', 'prod'],
  ].entries()) {
    await sleep(delays[i] ?? 0);
    const run = await team.bake(args);
    runs.push(run);
    if (run.exitCode !== 0) break;
  }
  return runs;
}

// Two clones, two CI jobs at once on one manifest: team 1 pushed a change to a; team 2 pulled it,
// changed b and pushed; team 1's job runs on a checkout without b. Whatever the interleaving, the
// newest view wins: both changes run in prod, and team 1's job either passes or is refused (3).
// On the default SQLite store and on PostgreSQL (a database of its own per test).
const cases = stores('sqlite', 'postgres').flatMap((store) => MODES.map((mode) => ({ mode, kind: store.kind, store })));

describe.skipIf(tools.skip).each(cases)('the overlapping-bakes race from separate clones ($mode, $kind store)', ({ mode, store }) => {
  let world: Teams | undefined;
  let db: OpenStore | undefined;
  afterEach(async () => {
    await world?.cleanup();
    await db?.cleanup();
    world = db = undefined;
  });

  it.skipIf(store.skip).each([0, 1, 2, 3])('schedule %i: both changes end up live, nothing older is released', async (seed) => {
    db = await store.open();
    world = await teams(mode, ['a', 'b'], db.env);
    const one = await world.team('team1');
    const two = await world.team('team2');
    expect((await ciJob(one, [])).map((r) => r.exitCode)).toEqual([0, 0, 0]);
    await one.change({ 'services/a/VERSION': 'a 2\n' });
    expect(await one.push()).toBe(true);
    await two.pull();
    await two.change({ 'services/b/VERSION': 'b 2\n' });
    expect(await two.push()).toBe(true);

    // Schedule 0 runs team 1's job to the end first: no race, so no refusal either. The others
    // start team 2's job before, with, and just after team 1's, and pause between steps.
    const schedules = [
      [],
      [
        [400, 0, 0],
        [0, 0, 0],
      ],
      [
        [0, 50, 0],
        [0, 0, 50],
      ],
      [
        [0, 0, 0],
        [150, 0, 0],
      ],
    ] as const;
    const [delaysOne = [], delaysTwo = []] = schedules[seed] ?? [];
    const [jobOne, jobTwo] =
      seed === 0
        ? [await ciJob(one, []), await ciJob(two, [])]
        : await Promise.all([ciJob(one, [...delaysOne]), ciJob(two, [...delaysTwo])]);
    for (const run of jobOne) expect([0, 3], run.stderr).toContain(run.exitCode);
    expect(
      jobTwo.map((r) => r.exitCode),
      jobTwo.map((r) => r.stderr).join('\n'),
    ).toEqual([0, 0, 0]);
    if (seed === 0) expect(jobOne.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    const refused = jobOne.find((r) => r.exitCode === 3);
    if (refused) expect(['behind', 'stale', 'regression', 'conflict']).toContain(refused.json.error.kind);

    db.assertUsedBy(world.stateDir);
    const manifest = await world.manifest();
    const prod = manifest.environments['prod'];
    expect(prod?.releases.find((r) => r.id === prod.live['shop'])?.vector).toEqual({ a: 2, b: 2 });
    expect(manifest.services['b']?.versions).toHaveLength(2); // team 1's old b was never recorded as newer
    for (const release of prod?.releases ?? []) expect(release.vector['b'] ?? 0).toBeLessThanOrEqual(2);
  });
});
