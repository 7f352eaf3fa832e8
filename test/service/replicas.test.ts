import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionManifest } from '../../src/manifest/model.js';
import { closeWorkspaceStores } from '../../src/store/workspace-store.js';
import { bake, type BakeRun } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { ensureTestPostgres, scratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { startRegistry } from '../helpers/registry.js';
import { gitRepo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { centralRepo, type Central, type TeamClone } from '../helpers/teams.js';
import { canIsolate, queueOf, type ReplicaProcess, startReplicaProcess, TOKEN, until } from './replica-harness.js';
import { expectConsistent, recordsOf } from './replica-state.js';

// `bake serve` as replicas: separate processes with separate working directories (their own
// local caches), sharing one PostgreSQL database and one blob registry; clients are clones of one
// bare central repository, each talking to "its" replica first and to the others after a failure.
ensureTestPostgres();
const tools = requireTools('git', 'postgres', 'docker-registry');
/** Replicas count one silent for this long as dead (the default is 15 s). */
const TIMEOUT_MS = '3000';

/** The workspace every clone holds: two quick services and a slow one (its build step sleeps), and an image over each group. */
function seed() {
  const service = (name: string, build?: string) =>
    `  ${name}:\n    source: services/${name}\n    install: /srv/${name}\n    run: /srv/${name}/run.sh\n${build ? `    build: ${build}\n` : ''}`;
  return gitRepo({
    '.gitignore': '.bake\n.tokens\n',
    'bake.yaml': `services:\n${service('a')}${service('b')}${service('slow', 'sleep 3')}`,
    'services/a/VERSION': 'a 1\n',
    'services/b/VERSION': 'b 1\n',
    'services/slow/VERSION': 'slow 1\n',
    'recipes/shop.yaml': 'image: shop\nbake: heavy\nbase: scratch\nservices: [a, b]\n',
    'recipes/slowimg.yaml': 'image: slowimg\nbake: heavy\nbase: scratch\nservices: [slow]\n',
  });
}

interface Team extends TeamClone {
  /** `bake --json …args` in this clone, through the replicas in `order` (comma-separated BAKE_SERVICE). */
  bake(args: string[], order: ReplicaProcess[]): Promise<BakeRun>;
  /** Changes a file, commits and pushes it (pulling first when behind). */
  change(path: string, content: string): Promise<void>;
}

describe.skipIf(tools.skip)('bake serve replicas sharing one PostgreSQL and one blob registry', () => {
  let db: ScratchDatabase;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let central: Central;
  const replicas: ReplicaProcess[] = [];
  let store: Record<string, string>;
  const manifest = (): Promise<VersionManifest> => manifestOf(replicas[0]?.dir ?? '.', store);

  async function team(name: string): Promise<Team> {
    const clone = await central.clone(name);
    return {
      ...clone,
      bake: (args, order) =>
        bake(['--json', ...args], {
          cwd: clone.dir,
          env: { BAKE_SERVICE: order.map((r) => r.url).join(','), BAKE_SERVICE_TOKEN: TOKEN, BAKE_ACTOR: `ci-${name}` },
        }),
      async change(path, content) {
        await clone.pull();
        await writeFile(join(clone.dir, path), content);
        await clone.commitAll(`${name}: ${path}`);
        while (!(await clone.push())) await clone.pull();
      },
    };
  }

  beforeAll(async () => {
    db = await scratchDatabase('replicas');
    registry = await startRegistry();
    const repo = await seed();
    central = await centralRepo(repo);
    await repo.cleanup();
    store = { BAKE_DATABASE_URL: db.url };
    const env = { ...store, BAKE_BLOB_REGISTRY: `${registry.address}/bake-blobs`, BAKE_REPLICA_TIMEOUT_MS: TIMEOUT_MS };
    replicas.push(await startReplicaProcess((await central.clone('host-0')).dir, env));
    // host-1 runs in a PID namespace of its own where it can: to the others, a process of another machine.
    replicas.push(await startReplicaProcess((await central.clone('host-1')).dir, env, { isolate: canIsolate }));
    // A replica configured without the blob registry: uploads made to it are its own (the client uploads again).
    const { BAKE_BLOB_REGISTRY: _none, ...unshared } = env;
    replicas.push(await startReplicaProcess((await central.clone('host-2')).dir, unshared));
    const setup = await team('setup');
    for (const service of ['a', 'b', 'slow']) expect((await setup.bake(['commit', service], replicas)).exitCode).toBe(0);
    expect((await setup.bake(['build', 'shop'], replicas)).exitCode).toBe(0);
    expect((await setup.bake(['release', 'shop', '--env', 'prod'], replicas)).exitCode).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const r of replicas) await r.kill();
    await closeWorkspaceStores();
    await central?.cleanup();
    await registry?.stop();
    await db?.drop();
  });

  it('lets two teams race through two replicas: both latest versions run, or the race is refused by name', async () => {
    const [r0, r1] = replicas as [ReplicaProcess, ReplicaProcess];
    const one = await team('team-one');
    const two = await team('team-two');
    const clean: number[] = [];
    for (let round = 0; round < 3; round++) {
      const go = async (t: Team, service: string, order: ReplicaProcess[], delay: number) => {
        await t.change(`services/${service}/VERSION`, `${service} ${t.team} ${round}\n`);
        await new Promise((r) => setTimeout(r, delay));
        const steps = [await t.bake(['commit', service], order)];
        // A behind checkout is refused (exit 3) and pulls; the record is the refusal.
        if (steps[0]?.exitCode === 3) {
          await t.pull();
          steps.push(await t.bake(['commit', service], order));
        }
        steps.push(await t.bake(['build', 'shop'], order));
        steps.push(await t.bake(['release', 'shop', '--env', 'prod'], order));
        return steps;
      };
      // Round 0 does not race (team two starts after team one is done): its only right outcome is both live.
      const steps =
        round === 0
          ? [...(await go(one, 'a', [r0, r1], 0)), ...(await go(two, 'b', [r1, r0], 0))]
          : (await Promise.all([go(one, 'a', [r0, r1], round * 40), go(two, 'b', [r1, r0], 0)])).flat();
      for (const s of steps) expect([0, 3], `${s.stderr}`).toContain(s.exitCode);
      const m = await manifest();
      const prod = m.environments['prod'];
      const live = prod?.releases.find((r) => r.id === prod.live['shop']);
      const refused = steps.filter((s) => s.exitCode === 3).map((s) => s.json?.error?.service);
      const behind = ['a', 'b'].filter((s) => live?.vector[s] !== m.services[s]?.versions.at(-1)?.version);
      for (const service of behind) expect(refused, `round ${round}: prod lacks the latest ${service} silently`).toContain(service);
      if (behind.length === 0 && refused.length === 0) clean.push(round);
      expectConsistent(m);
      expect(m.generation, 'generation equals the writes counted').toBe(recordsOf(m));
    }
    expect(clean, "the clean case: both teams' changes live").toContain(0);
  }, 240_000);

  it('records a commit whose replica was killed as failed, and the retry on another replica (without the shared uploads) records it once', async () => {
    const [r0, , r2] = replicas as [ReplicaProcess, ReplicaProcess, ReplicaProcess];
    const t = await team('team-kill-commit');
    await t.change('services/slow/VERSION', 'slow after a crash\n');
    const before = await manifest();
    const versions = before.services['slow']?.versions.length ?? 0;
    const run = t.bake(['commit', 'slow'], [r0, r2]);
    await until('r0 runs the commit', async () => (await queueOf(r0)).some((j) => j.command === 'commit'));
    await new Promise((r) => setTimeout(r, 500));
    const killed = r0.pid;
    await r0.kill('SIGKILL');
    const done = await run;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.json.commits[0]).toMatchObject({ service: 'slow', version: versions + 1, created: true });
    // r2 did not have the trees (no blob registry there): the client uploaded them again.
    expect(done.stderr).toMatch(/uploaded the trees again to/);
    const after = await manifest();
    expect(after.services['slow']?.versions.length).toBe(versions + 1);
    const interrupted = after.interrupted?.slice(before.interrupted?.length ?? 0) ?? [];
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]).toMatchObject({ argv: ['commit', 'slow'], status: 'failed', replica: expect.stringContaining(`pid ${killed}`) });
    expect(after.generation - before.generation).toBe(2); // the interrupted record, the version
    expectConsistent(after);
    expect(after.generation).toBe(recordsOf(after));
    await r0.restart();
  }, 120_000);

  it('records a build whose replica was killed as failed, and the retry on another replica records the build once', async () => {
    const [r0, r1] = replicas as [ReplicaProcess, ReplicaProcess];
    const t = await team('team-kill-build');
    await t.change('services/slow/VERSION', 'slow built after a crash\n');
    const before = await manifest();
    const builds = before.builds['slowimg']?.length ?? 0;
    const run = t.bake(['build', '--commit', 'slowimg'], [r1, r0]);
    await until('r1 runs the build', async () => (await queueOf(r1)).some((j) => j.command === 'build'));
    await new Promise((r) => setTimeout(r, 500));
    const { replica } = (await (await fetch(`${r1.url}/v1/health`)).json()) as { replica: string };
    await r1.kill('SIGKILL');
    const done = await run;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.json.builds[0]).toMatchObject({ image: 'slowimg', build: builds + 1 });
    // The retry waited for the first attempt while it could still be running: the same key is run once.
    expect(done.stderr, done.stderr).toMatch(/still running where it was sent first/);
    const after = await manifest();
    expect(after.builds['slowimg']).toHaveLength(builds + 1);
    const interrupted = after.interrupted?.slice(before.interrupted?.length ?? 0) ?? [];
    expect(interrupted, JSON.stringify(after.interrupted)).toHaveLength(1);
    // From "another machine", the death is known only from its heartbeat: not before the last one is a timeout old.
    const lastBeat = Number(await db.sql(`SELECT heartbeat FROM bake_replicas WHERE replica = '${replica}'`));
    if (canIsolate) expect(Date.parse(interrupted[0]?.detectedAt ?? '') - lastBeat).toBeGreaterThanOrEqual(Number(TIMEOUT_MS));
    expect(interrupted[0]?.argv).toEqual(expect.arrayContaining(['build', 'slowimg', '--commit', 'slow']));
    // The interrupted record, the version, the build.
    expect(after.generation - before.generation, `${done.stderr}\n${JSON.stringify(done.json)}`).toBe(3);
    expectConsistent(after);
    expect(after.generation).toBe(recordsOf(after));
    await r1.restart();
    // The restarted replica serves again, from the same store.
    const status = await t.bake(['status'], [r1]);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json.generation, JSON.stringify((await manifest()).interrupted)).toBe(after.generation);
  }, 120_000);
});
