import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import type { BakeRun } from '../helpers/bake-cli.js';
import { gitEnv, tempDir } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { type OpenStore, stores } from '../helpers/stores.js';
import { teams, type Team, type Teams } from './setup.js';

const tools = requireTools('git');
const TEAMS = ['t1', 't2', 't3'];
const SERVICES = ['a', 'b', 'c'];
const STEPS_PER_TEAM = 6;

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A change a team pushed, and how the CI job on that push ended (0, or 3 when something was refused). */
interface Pushed {
  team: string;
  service: string;
  commit: string;
  exit: number;
  steps: string[];
}

/** The CI job: `commit --all`, `build`, `release` (or `build --commit`, `release`), stopping at the first failure. */
async function ciJob(team: Team, form: 'commit-then-build' | 'build-commit'): Promise<BakeRun[]> {
  const steps =
    form === 'commit-then-build'
      ? [
          ['commit', '--all'],
          ['build', 'shop'],
        ]
      : [['build', '--commit', 'shop']];
  const runs: BakeRun[] = [];
  for (const args of [...steps, ['release', 'shop', '--env', 'prod']]) {
    const run = await team.bake(args);
    runs.push(run);
    expect([0, 3], `${team.team}: bake ${args.join(' ')}: ${run.stderr}`).toContain(run.exitCode);
    if (run.exitCode !== 0) break;
  }
  return runs;
}

/** `git push`, pulling (merging) and pushing again while another team got there first. */
async function pushWithRetry(team: Team): Promise<boolean> {
  for (let attempt = 0; attempt < 4; attempt++) {
    if (await team.push()) return true;
    await team.pull();
  }
  return false;
}

/** One team's day on a seeded schedule: pull, change one service, commit, push, and the CI job on every push. */
async function teamDay(team: Team, random: () => number): Promise<Pushed[]> {
  const pushed: Pushed[] = [];
  for (let step = 0; step < STEPS_PER_TEAM; step++) {
    await sleep(random() * 120);
    const form = random() < 0.5 ? 'commit-then-build' : 'build-commit';
    const roll = random();
    if (roll < 0.1) {
      await team.pull();
      continue;
    }
    if (roll < 0.2) {
      await ciJob(team, form); // a job re-run on whatever the checkout holds
      continue;
    }
    if (random() < 0.5) await team.pull(); // sometimes the team works on a view that is not the newest
    const service = SERVICES[Math.floor(random() * SERVICES.length)] ?? 'a';
    const commit = await team.change({ [`services/${service}/${team.team}.txt`]: `${team.team} step ${step}\n` });
    if (!(await pushWithRetry(team))) continue;
    const runs = await ciJob(team, form);
    pushed.push({
      team: team.team,
      service,
      commit,
      exit: runs.at(-1)?.exitCode ?? 0,
      steps: runs.map((r) => `${r.exitCode}${r.json?.error?.kind ?? ''}`),
    });
  }
  return pushed;
}

// N teams × M services through one bake service, on seeded random schedules. Two invariants:
// prod never goes back in a service's history (no release runs an ancestor of a revision already
// released there), and every pushed change is live at the end or its CI job was refused (exit 3).
// The service's store is the default SQLite file, or PostgreSQL (a database of its own per seed).

describe.skipIf(tools.skip).each(stores('sqlite', 'postgres'))(
  `${TEAMS.length} teams × ${SERVICES.length} services through the service, randomized ($kind store)`,
  (store) => {
    let world: Teams;
    let db: OpenStore | undefined;
    let checker: { dir: string; cleanup(): Promise<void> } | undefined;
    afterEach(async () => {
      await checker?.cleanup();
      await world?.cleanup();
      await db?.cleanup();
      db = undefined;
    });

    it.skipIf(store.skip).each([11, 23, 37])(
      'seed %i: nothing older is ever released, and no pushed change is silently lost',
      async (seed) => {
        db = await store.open();
        world = await teams('service', SERVICES, db.env);
        const clones = await Promise.all(TEAMS.map((name) => world.team(name)));
        const first = clones[0] as Team;
        expect((await ciJob(first, 'commit-then-build')).map((r) => r.exitCode)).toEqual([0, 0, 0]);
        const random = rng(seed);
        const days = await Promise.all(clones.map((team, i) => teamDay(team, rng(seed * 1000 + i * 7919 + Math.floor(random() * 100)))));
        const pushed = days.flat();

        // Every revision any team made, in one repository, to ask git about ancestry.
        checker = await tempDir('checker');
        const git = (...args: string[]) => execa('git', args, { cwd: checker?.dir, env: gitEnv(), reject: false });
        await git('init', '-q', '--bare', '.');
        for (const team of clones) await git('fetch', '-q', team.dir, `+refs/heads/*:refs/remotes/${team.team}/*`);
        const isAncestor = async (a: string, b: string) => (await git('merge-base', '--is-ancestor', a, b)).exitCode === 0;

        db.assertUsedBy(world.stateDir);
        const manifest = await world.manifest();
        const prod = manifest.environments['prod'];
        const revision = (service: string, version: number | undefined) =>
          version === undefined ? undefined : manifest.services[service]?.versions[version - 1]?.revision;

        // 1. Forward only: a release never runs a revision that is an ancestor of one released before it.
        const releases = prod?.releases ?? [];
        for (const [k, release] of releases.entries()) {
          expect(release.overrides.filter((o) => o.flag === '--rollback')).toEqual([]);
          for (const service of SERVICES) {
            const now = revision(service, release.vector[service]);
            for (const earlier of releases.slice(0, k)) {
              const before = revision(service, earlier.vector[service]);
              if (!now || !before || now === before) continue;
              expect(
                await isAncestor(now, before),
                `release ${release.id} runs ${service} ${now.slice(0, 12)}, older than release ${earlier.id}'s`,
              ).toBe(false);
            }
          }
        }
        // Versions follow history too: no version's revision is an ancestor of the one before it.
        for (const service of SERVICES) {
          const versions = manifest.services[service]?.versions ?? [];
          for (const [i, v] of versions.entries()) {
            const previous = versions[i - 1]?.revision;
            if (previous && v.revision && previous !== v.revision)
              expect(await isAncestor(v.revision, previous), `${service} v${v.version}`).toBe(false);
          }
        }

        // 2. None silently lost: each pushed change is in the revision prod runs, or its job was refused.
        const live = releases.find((r) => r.id === prod?.live['shop']);
        for (const change of pushed) {
          if (change.exit === 3) continue;
          const running = revision(change.service, live?.vector[change.service]);
          expect(running, `${change.team}'s change to ${change.service}`).toBeDefined();
          const contained = running === change.commit || (await isAncestor(change.commit, running ?? ''));
          expect(
            contained,
            `${change.team}'s change to ${change.service} (${change.commit.slice(0, 12)}, job ${change.steps.join(' ')}) is not live`,
          ).toBe(true);
        }
        // A gate that refused everything would pass the checks above: some jobs must have gone through.
        expect(pushed.some((c) => c.exit === 0)).toBe(true);
      },
    );
  },
);
