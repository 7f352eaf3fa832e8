import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import type { BakeRun } from '../helpers/bake-cli.js';
import { requireTools } from '../helpers/require-tools.js';
import { stores } from '../helpers/stores.js';
import { MODES, teams, type Team, type Teams } from './setup.js';

const tools = requireTools('git');

describe.skipIf(tools.skip).each(MODES)('order follows git history (%s)', (mode) => {
  let world: Teams;
  afterEach(() => world?.cleanup());

  async function committed(team: Team, args: string[]): Promise<BakeRun> {
    const run = await team.bake(args);
    expect(run.exitCode, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    return run;
  }

  it('refuses a service both sides changed (diverged) until the two are merged', async () => {
    world = await teams(mode);
    const one = await world.team('team1');
    const two = await world.team('team2');
    await committed(one, ['commit', '--all']);
    const theirs = await one.change({ 'services/a/one.txt': 'team 1 was here\n' });
    expect(await one.push()).toBe(true);
    await committed(one, ['commit', 'a']);
    const ours = await two.change({ 'services/a/two.txt': 'team 2 was here\n' });
    // Not fetched, team 1's revision is simply missing here: behind (pull). Fetched but not merged: diverged.
    expect((await two.bake(['commit', 'a'])).json.refused[0]).toMatchObject({ kind: 'behind', candidate: ours });
    await two.git('fetch', '-q', 'origin');
    const refused = await two.bake(['commit', 'a']);
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.json.refused[0]).toMatchObject({
      kind: 'diverged',
      service: 'a',
      candidate: ours,
      recorded: { version: 2, revision: theirs },
    });
    expect(refused.json.error.message).toMatch(/both changed a.*Fix: merge/);
    expect((await world.manifest()).services['a']?.versions).toHaveLength(2);

    // The merge holds both changes: it descends from both sides, and is recorded as v3.
    await two.pull();
    expect(await two.push()).toBe(true);
    const merge = await two.git('rev-parse', 'HEAD');
    const after = await committed(two, ['commit', 'a']);
    expect(after.json.commits[0]).toMatchObject({ service: 'a', version: 3, created: true, revision: merge });
    // Team 1's tree of a is now an older view (v2's): refused as behind until it pulls the merge.
    const behind = await one.bake(['commit', 'a']);
    expect(behind.exitCode).toBe(3);
    expect(behind.json.refused[0]).toMatchObject({ kind: 'behind', service: 'a', recorded: { version: 3, revision: merge } });
    await one.pull();
    expect((await committed(one, ['commit', 'a'])).json.commits[0]).toMatchObject({ version: 3, created: false });
  });

  it('accepts a revert: a new descendant commit restoring old content is a new version', async () => {
    world = await teams(mode);
    const one = await world.team('team1');
    const first = (await committed(one, ['commit', '--all'])).json.commits[0];
    await one.change({ 'services/a/VERSION': 'a 2, a mistake\n' });
    await committed(one, ['commit', 'a']);
    await committed(one, ['build', 'shop']);
    await committed(one, ['release', 'shop', '--env', 'prod']);
    await one.git('revert', '--no-edit', 'HEAD');
    const revert = await one.git('rev-parse', 'HEAD');
    const reverted = (await committed(one, ['commit', 'a'])).json.commits[0];
    expect(reverted).toMatchObject({ version: 3, created: true, revision: revert, digest: first.digest });
    expect((await committed(one, ['build', 'shop'])).json.builds[0].vector).toMatchObject({ a: 3 });
    // Forward in history, so forward for the release gate: not a regression, no --rollback needed.
    await committed(one, ['release', 'shop', '--env', 'prod']);
    // A checkout still at the seed has a's tree of the latest version: nothing to record, nothing to refuse.
    const stale = await world.team('team2');
    const same = await committed(stale, ['commit', 'a']);
    expect(same.json.commits[0]).toMatchObject({ version: 3, created: false });
  });

  it('orders directory sources by --after (compare-and-set), and by arrival without it', async () => {
    world = await teams(mode);
    const one = await world.team('team1');
    const dir = (n: number) => join(one.dir, '.bake-dirs', String(n));
    for (const n of [1, 2, 3]) {
      await mkdir(dir(n), { recursive: true });
      await writeFile(join(dir(n), 'VERSION'), `dir ${n}\n`);
    }
    expect((await committed(one, ['commit', 'a', '--from', dir(1), '--after', '0'])).json.commits[0]).toMatchObject({ version: 1 });
    const moved = await one.bake(['commit', 'a', '--from', dir(2), '--after', '0']);
    expect(moved.exitCode).toBe(3);
    expect(moved.json.error).toMatchObject({ kind: 'moved', service: 'a', candidate: null, recorded: { version: 1 } });
    expect(moved.json.commits).toEqual([]);
    expect((await committed(one, ['commit', 'a', '--from', dir(2), '--after', '1'])).json.commits[0]).toMatchObject({ version: 2 });
    expect((await committed(one, ['commit', 'a', '--from', dir(3)])).json.commits[0]).toMatchObject({ version: 3 });
    const refusals = (await world.manifest()).services['a']?.refusals ?? [];
    expect(refusals.map((r) => r.kind)).toEqual(['moved']);
    expect((await one.bake(['commit', 'a', '--after', '3'])).exitCode).toBe(2); // --after is for --from
    // A git commit after directory versions: nothing to descend from, so it follows.
    await one.change({ 'services/a/VERSION': 'from git again\n' });
    expect((await committed(one, ['commit', 'a'])).json.commits[0]).toMatchObject({ version: 4, created: true });
  });

  // The lock is the store's: the JSON file store's lock file, SQLite's write transaction.
  describe.each(stores('json', 'sqlite'))('on the $kind store', (store) => {
    it.each([
      ['commit', 'a'],
      ['build', '--commit', 'shop'],
    ])(
      'proves again when someone recorded the service while it waited for the lock (%s …): moved never reaches the caller',
      async (...second) => {
        const db = await store.open();
        onTestFinished(() => db.cleanup());
        world = await teams(mode, ['a', 'b'], db.env);
        const runner1 = await world.team('runner1');
        const runner2 = await world.team('runner2');
        await committed(runner1, ['commit', '--all']);
        // One team pushes twice; a CI runner takes each push. C2 descends from C1.
        const c1 = await runner1.change({ 'services/a/VERSION': 'a 2\n' });
        expect(await runner1.push()).toBe(true);
        await runner2.pull();
        const c2 = await runner2.change({ 'services/a/VERSION': 'a 3\n' });
        // Both prove against v1 while the manifest lock is held, then wait for it; whichever records
        // second finds its proof outdated and must prove again.
        const holder = spawn(process.execPath, [join(__dirname, 'hold-lock.mjs'), world.stateDir], {
          env: { ...process.env, ...world.storeEnv },
          stdio: ['pipe', 'pipe', 'inherit'],
        });
        try {
          await new Promise<void>((resolve, reject) => {
            holder.stdout?.on('data', (d) => String(d).includes('locked') && resolve());
            holder.once('exit', () => reject(new Error('the lock holder exited early')));
          });
          const one = runner1.start(['commit', 'a']);
          const two = runner2.start(second);
          await Promise.all([one.waiting, two.waiting]);
          holder.stdin?.end();
          const [r1, r2] = await Promise.all([one.done, two.done]);
          expect(
            [r1.stderr, r2.stderr].every((e) => e.includes('waiting for the manifest lock')),
            `${r1.stderr}\n${r2.stderr}`,
          ).toBe(true);
          const outcome = (r: BakeRun) =>
            r.json.commits?.find((c: { service: string }) => c.service === 'a')?.version ?? (r.json.refused?.[0] ?? r.json.error)?.kind;
          for (const r of [r1, r2])
            expect([r.json.error?.kind, ...(r.json.refused ?? []).map((x: { kind: string }) => x.kind)]).not.toContain('moved');
          if (outcome(r1) === 2) {
            expect([outcome(r1), outcome(r2)]).toEqual([2, 3]); // C2 was proved again against C1's v2: it descends
            expect(r2.exitCode, r2.stderr).toBe(0);
            expect(r2.json.commits.find((c: { service: string }) => c.service === 'a').revision).toBe(c2);
          } else {
            expect([outcome(r1), outcome(r2)]).toEqual(['behind', 2]); // C1 was proved again against C2's v2: it is behind
            expect(r1.exitCode).toBe(3);
            expect(r1.json.refused[0]).toMatchObject({ candidate: c1, recorded: { revision: c2 } });
          }
        } finally {
          holder.kill('SIGKILL');
        }
      },
    );
  });
});
