import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// Images are content-addressed and test files run in parallel on one engine: a clock of this
// file's own keeps its images distinct from every other file's, so no test removes another's.
process.env['SOURCE_DATE_EPOCH'] = '1700000404';
const tools = requireTools('git', 'busybox', 'docker');

// Each test can run alone (-t): the beforeAll fixture brings the environment up once, and each test
// starts from steady() — two instances of one release, nothing on probation — and makes the rest
// of the state it needs itself; a test that breaks something puts it back in a finally.
describe.skipIf(tools.skip)('deploying to a local environment behind the router', () => {
  let repo: Repo;
  let engine: Engine;
  let urls: Record<string, string>;
  let day = 10;

  /** Commits a change to one service, as a team would. */
  async function change(service: string, what: string) {
    await appendFile(join(repo.dir, 'services', service, 'VERSION'), `${what}\n`);
    await repo.commitAll(what, `2026-01-${day++}T00:00:00Z`);
    const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop']);
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0];
  }

  async function state() {
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', 'dev', 'router.json'), 'utf8'));
    return (await (await fetch(`http://127.0.0.1:${info.control}/state`)).json()) as {
      instances: { id: string; release: number; vector: Record<string, number> }[];
      toggles: Record<string, boolean>;
    };
  }

  async function deploy(args: string[], env: Record<string, string> = {}) {
    const catalog = startLoad(`${urls['catalog']}/version`, { concurrency: 3 });
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev', ...args], { env });
    const load = await catalog.stop();
    return { run, load };
  }

  async function status() {
    const run = await bake(['-C', repo.dir, '--json', 'status', '--env', 'dev']);
    expect(run.exitCode, run.stderr).toBe(0);
    type Release = { id: number; build: number; state: string; digest: string };
    return run.json.environments.dev as { live: Release[]; previous: Release[] };
  }

  /** The state most tests start from: the router up, two instances of one release, nothing on probation. */
  async function steady() {
    if ((await status()).live[0]?.state === 'probation') {
      const rollback = await bake(['-C', repo.dir, '--json', 'rollback', '--env', 'dev']);
      expect(rollback.exitCode, rollback.stderr).toBe(0);
    }
    const instances = await state().then(
      (s) => s.instances,
      () => [],
    );
    if (instances.length !== 2 || new Set(instances.map((i) => i.release)).size !== 1) {
      const up = await bake(['-C', repo.dir, '--json', 'up', 'dev']);
      expect(up.exitCode, up.stderr).toBe(0);
      urls = up.json.router;
    }
    expect((await state()).instances).toHaveLength(2);
  }

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml.replace('    dev: true\n', '    dev: true\n    batch: 1\n    canary: {percent: 20, cohort: [beta]}\n'),
    );
    await repo.commitAll('dev environment');
    const up = await bake(['-C', repo.dir, '--json', 'up', 'dev']);
    expect(up.exitCode, up.stderr).toBe(0);
    urls = up.json.router;
  });
  afterAll(async () => {
    if (repo) {
      const down = await bake(['-C', repo.dir, '--json', 'down', 'dev']);
      expect(down.json?.images?.length ?? 0).toBeGreaterThan(0);
    }
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it('brings the environment up and verifies it', async () => {
    await steady();
    expect((await state()).instances).toHaveLength(2);
    expect((await bake(['-C', repo.dir, 'verify', 'dev'])).exitCode).toBe(0);
  });

  it('rolls a new version out with zero failed requests, and a pinned client stays on its release', async () => {
    await steady();
    const before = (await state()).instances[0]?.release ?? 0;
    await change('catalog', 'catalog v2');
    const pinned = startLoad(`${urls['catalog']}/version`, { concurrency: 1, headers: { 'x-bake-release': String(before) } });
    // --batch is accepted as documented: both instances are replaced in one batch.
    const { run, load } = await deploy(['--strategy', 'rolling', '--batch', '2']);
    const pins = await pinned.stop();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(load.failed, load.failures.join('; ')).toBe(0);
    expect(pins.failed).toBe(0);
    // The pinned client is served by its release for as long as one instance of it is up.
    const firstOther = pins.releases.findIndex((r) => r !== before);
    expect(firstOther === -1 || pins.releases.slice(firstOther).every((r) => r !== before)).toBe(true);
    expect(pins.releases.filter((r) => r === before).length).toBeGreaterThan(0);
    expect(run.json, run.stdout + run.stderr).toBeDefined();
    expect(load.releases).toContain(run.json.release); // both versions served during the rollout
    expect((await state()).instances.map((i) => i.release)).toEqual([run.json.release, run.json.release]);
  });

  it('switches blue/green at once with zero failed requests', async () => {
    await steady();
    await change('cart', 'cart v2');
    const { run, load } = await deploy(['--strategy', 'blue-green']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(load.failed, load.failures.join('; ')).toBe(0);
    // Once a client has been served by the new release, every request it sends later is too.
    const switched = Math.min(...load.timeline.filter((t) => t.release === run.json.release).map((t) => t.done));
    expect(load.timeline.filter((t) => t.sent > switched).every((t) => t.release === run.json.release)).toBe(true);
    expect((await state()).instances.every((i) => i.release === run.json.release)).toBe(true);
  });

  it('sends the cohort and a share to a canary; a toggle waits for the last old instance; promote finishes', async () => {
    await steady();
    const old = (await state()).instances[0]?.release;
    await change('catalog', 'catalog v3');
    const { run, load } = await deploy(['--strategy', 'canary']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.state).toBe('probation');
    expect(load.failed).toBe(0);
    const beta = startLoad(`${urls['catalog']}/version`, { headers: { 'x-bake-cohort': 'beta' }, maxRequests: 40 });
    const others = startLoad(`${urls['catalog']}/version`, { maxRequests: 200 });
    await new Promise((r) => setTimeout(r, 1500));
    const b = await beta.stop();
    const o = await others.stop();
    expect(new Set(b.releases)).toEqual(new Set([run.json.release]));
    expect(o.releases.filter((r) => r === old).length).toBeGreaterThan(o.releases.length / 2);

    const toggleOn = [
      '-C',
      repo.dir,
      '--json',
      'toggle',
      'new-search',
      'on',
      '--env',
      'dev',
      '--requires',
      `catalog>=${run.json.vector.catalog}`,
    ];
    const blocked = await bake(toggleOn);
    expect(blocked.exitCode).toBe(3);
    expect(blocked.json.error.kind).toBe('toggle-blocked');
    const waiting = bake([...toggleOn, '--wait', '60']);
    await new Promise((r) => setTimeout(r, 500));
    expect((await state()).toggles['new-search']).toBeUndefined(); // still waiting
    const promote = await bake(['-C', repo.dir, '--json', 'promote', '--env', 'dev']);
    expect(promote.exitCode, promote.stderr).toBe(0);
    const toggled = await waiting;
    expect(toggled.exitCode, toggled.stderr).toBe(0);
    expect((await state()).instances.every((i) => i.release === run.json.release)).toBe(true);
    const response = await fetch(`${urls['catalog']}/version`);
    expect(response.headers.get('x-bake-features')).toBe('new-search');
  });

  it('refuses a toggle --wait that is not a number of seconds from 0 to 86400, before waiting', async () => {
    for (const wait of ['abc', '-1', '86401', 'NaN']) {
      const run = await bake([
        '-C',
        repo.dir,
        '--json',
        'toggle',
        'f',
        'on',
        '--env',
        'dev',
        '--requires',
        'catalog>=999',
        `--wait=${wait}`,
      ]);
      expect(run.exitCode, wait).toBe(2);
      expect(run.json.error.message).toMatch(/--wait takes a number of seconds from 0 to 86400/);
    }
  });

  it('halts a rolling upgrade whose new version is unhealthy and undoes it with zero failed requests', async () => {
    await steady();
    const live = (await state()).instances[0]?.release;
    // This version never answers /healthz; a short health timeout makes the deploy give up fast.
    const runSh = join(repo.dir, 'services', 'catalog', 'run.sh');
    const healthy = await readFile(runSh, 'utf8');
    await writeFile(runSh, healthy.replace('echo ok > "$root/healthz"', 'rm -f "$root/healthz"'));
    try {
      await change('catalog', 'catalog broken');
      const started = Date.now();
      const { run, load } = await deploy(['--strategy', 'rolling'], { BAKE_HEALTH_TIMEOUT_MS: '2000' });
      expect(run.exitCode).toBe(1);
      expect(run.json.error.kind, run.stderr).toBe('deploy-failed');
      expect(run.json.error.message).toMatch(/failed and was undone: .*not healthy after 2000 ms/s);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(load.failed, load.failures.join('; ')).toBe(0);
      expect((await state()).instances.map((i) => i.release)).toEqual([live, live]);
      expect((await status()).live[0]?.id).toBe(live);
    } finally {
      await writeFile(runSh, healthy);
      await repo.commitAll('catalog healthy again', `2026-01-${day++}T00:00:00Z`);
    }
  });

  it('rolls back to the previous release: the previous digests run again', async () => {
    await steady();
    // Something to go back from: a new release over the one running now.
    await change('web', 'web, to be rolled back');
    const forward = await deploy(['--strategy', 'rolling']);
    expect(forward.run.exitCode, forward.run.stderr).toBe(0);
    const previous = (await status()).previous.find((r) => r.state === 'committed');
    expect(previous).toBeDefined();
    const rollback = await bake(['-C', repo.dir, '--json', 'rollback', '--env', 'dev']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.json).toEqual({
      env: 'dev',
      from: forward.run.json.release,
      to: expect.any(Number),
      build: previous?.build,
      digest: previous?.digest,
    });
    expect(rollback.json.to).toBeGreaterThan(forward.run.json.release); // going back is a new release
    const containers = await engine.listContainers({ 'dev.bake.env': 'dev', 'dev.bake.scope': workspaceScope(repo.dir) });
    expect(containers.map((c) => c.labels['dev.bake.digest'])).toEqual([previous?.digest, previous?.digest]);
    const log = (await bake(['-C', repo.dir, '--json', 'log', '--env', 'dev'])).json.events;
    const releases = log.filter((e: { kind: string }) => e.kind === 'release');
    expect(releases.at(-1).detail.overrides.some((o: { flag: string }) => o.flag === '--rollback')).toBe(true);
  });

  it('withdraws a canary on rollback: its instances go, the release before it serves again', async () => {
    await steady();
    const old = (await state()).instances[0]?.release;
    await change('cart', 'cart canary, to be withdrawn');
    const canary = await deploy(['--strategy', 'canary']);
    expect(canary.run.exitCode, canary.run.stderr).toBe(0);
    expect((await state()).instances.map((i) => i.release).sort()).toEqual([old, old, canary.run.json.release].sort());
    const rollback = await bake(['-C', repo.dir, '--json', 'rollback', '--env', 'dev']);
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.json).toEqual({
      env: 'dev',
      from: canary.run.json.release,
      to: old,
      digest: expect.stringMatching(/^sha256:/),
      switchedMs: expect.any(Number),
    });
    expect((await state()).instances.map((i) => i.release)).toEqual([old, old]);
    const live = (await status()).live[0];
    expect(live?.id).toBe(old);
  });

  it('keeps the router ports it had last time when bake.yaml sets none', async () => {
    await steady();
    const before = { ...urls };
    const down = await bake(['-C', repo.dir, '--json', 'down', 'dev']);
    expect(down.exitCode, down.stderr).toBe(0);
    const up = await bake(['-C', repo.dir, '--json', 'up', 'dev']);
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.json.router).toEqual(before);
    urls = up.json.router;
  });

  it('refuses a --dev build for an environment that does not accept dev builds', async () => {
    await steady();
    const version = join(repo.dir, 'services', 'web', 'VERSION');
    const committed = await readFile(version, 'utf8');
    await appendFile(version, 'uncommitted\n');
    try {
      const devBuild = await bake(['-C', repo.dir, '--json', 'up', 'dev', '--dev']);
      expect(devBuild.exitCode, devBuild.stderr).toBe(0);
      expect(devBuild.json.dev).toBe(true);
      const refused = await bake(['-C', repo.dir, '--json', 'release', 'shop', '--env', 'prod']);
      expect(refused.exitCode).toBe(3);
      expect(refused.json.error.kind).toBe('dev');
    } finally {
      await writeFile(version, committed);
    }
  });
});
