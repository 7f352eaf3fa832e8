import { appendFile, chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { manifestOf } from '../helpers/manifest.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// The deploy lifecycle as a user meets it, one environment per strategy in one workspace, each
// step under bounded load on 127.0.0.1 counting failed requests. A clock of this file's own keeps
// its images distinct from other files' (they run in parallel on one engine).
process.env['SOURCE_DATE_EPOCH'] = '1700000505';
const tools = requireTools('git', 'busybox', 'docker', 'docker-registry');

const ENVIRONMENTS = `environments:
  light:
    image: shop-light
    replicas: 2
    strategy: rolling
  bg:
    image: shop
    replicas: 2
    strategy: blue-green
    probation: 60
  pv:
    image: shop
    replicas: 1
    strategy: blue-green
    preview: true
    probation: 2
  cn:
    image: shop
    replicas: 1
    strategy: canary
    canary:
      steps: [{percent: 20, pause: 2}, {percent: 50, pause: 2}, {percent: 100}]
      analysis: {minRequests: 20, maxErrorPercent: 5}
  quiet:
    image: shop
    replicas: 1
    strategy: canary
    canary: {steps: [{percent: 5, pause: 1}], analysis: {minRequests: 50}}
  ab:
    image: shop
    replicas: 1
    strategy: ab
`;

/** A CGI answer (busybox httpd: LF-only header lines, which the router must accept); `flaky` answers 500 one time in five. */
const answer = (flaky: boolean) => `#!/bin/sh
n=$(od -An -N1 -tu1 /dev/urandom)
${flaky ? 'if [ "$n" -lt 51 ]; then printf \'Status: 500 Internal Server Error\\nContent-Type: text/plain\\n\\nboom\\n\'; exit 0; fi\n' : ''}printf 'Content-Type: text/plain\\n\\nanswer %s\\n' "$n"
`;

describe.skipIf(tools.skip)('the deploy lifecycle', () => {
  let repo: Repo;
  let engine: Engine;
  let day = 10;
  const urls: Record<string, Record<string, string>> = {};

  const run = (args: string[], env: Record<string, string> = {}) => bake(['-C', repo.dir, '--json', ...args], { env });

  async function commit(service: string, what: string) {
    await appendFile(join(repo.dir, 'services', service, 'VERSION'), `${what}\n`);
    await repo.commitAll(what, `2026-02-${String(day++).padStart(2, '0')}T00:00:00Z`);
  }
  async function change(service: string, what: string, image = 'shop') {
    await commit(service, what);
    const built = await run(['build', '--commit', image]);
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0] as { build: number; vector: Record<string, number>; digest: string };
  }
  async function router(env: string) {
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', env, 'router.json'), 'utf8'));
    const state = (await (await fetch(`http://127.0.0.1:${info.control}/state`)).json()) as {
      instances: { id: string; release: number; vector: Record<string, number> }[];
      routes: Record<string, unknown>;
      toggles: Record<string, boolean>;
      previewListeners: Record<string, number>;
    };
    return state;
  }
  async function status(env: string) {
    const s = await run(['status', '--env', env]);
    expect(s.exitCode, s.stderr).toBe(0);
    return s.json.environments[env];
  }
  async function first(env: string) {
    const built = await run(['build', '--commit', env === 'light' ? 'shop-light' : 'shop']);
    expect(built.exitCode, built.stderr).toBe(0);
    const up = await run(['deploy', '--env', env]);
    expect(up.exitCode, up.stderr).toBe(0);
    urls[env] = up.json.router;
    return up.json;
  }
  /** Runs a bake command while `concurrency` clients load `path` of the environment's catalog. */
  async function underLoad(env: string, args: string[], options: { path?: string; extra?: Record<string, string> } = {}) {
    const load = startLoad(`${urls[env]?.['catalog']}${options.path ?? '/version'}`, { concurrency: 3 });
    const started = performance.now();
    const result = await run(args, options.extra);
    const served = await load.stop();
    return { run: result, load: served, started };
  }
  async function containers(env: string) {
    return (await engine.listContainers({ 'dev.bake.env': env, 'dev.bake.scope': workspaceScope(repo.dir) }))
      .map((c) => c.id.slice(0, 12))
      .sort();
  }

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(join(repo.dir, 'bake.yaml'), yaml.replace('environments:\n', ENVIRONMENTS));
    await writeFile(
      join(repo.dir, 'recipes', 'shop-light.yaml'),
      'image: shop-light\nbake: light\nbase: {rootfs: base/busybox}\nservices: [catalog, cart, web]\n',
    );
    const runSh = join(repo.dir, 'services', 'catalog', 'run.sh');
    const script = await readFile(runSh, 'utf8');
    await writeFile(
      runSh,
      script.replace(
        'exec busybox httpd',
        'mkdir -p "$root/cgi-bin" && cp "$here/answer.cgi" "$root/cgi-bin/answer" && chmod 755 "$root/cgi-bin/answer"\nexec busybox httpd',
      ),
    );
    await writeFile(join(repo.dir, 'services', 'catalog', 'answer.cgi'), answer(false));
    await chmod(join(repo.dir, 'services', 'catalog', 'answer.cgi'), 0o755);
    await repo.commitAll('environments for every strategy');
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
  }, 120_000);

  afterAll(async () => {
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    for (const env of ['light', 'bg', 'pv', 'cn', 'quiet', 'ab']) if (repo) await run(['down', env]);
    await repo?.cleanup();
  });

  it('light: deploys build 1, then build 2 through the gate, then upgrades in place and undoes a bad upgrade', async () => {
    expect((await run(['build', 'shop-light'])).exitCode).toBe(0);
    const one = await first('light');
    const two = await change('catalog', 'catalog v2 for light', 'shop-light');
    expect(two.digest).toBe(one.digest); // one light image, two vectors
    const deployed = await underLoad('light', ['deploy', '--env', 'light', '--build', String(two.build)]);
    expect(deployed.run.exitCode, deployed.run.stderr).toBe(0);
    expect(deployed.run.json.release).toBeGreaterThan(one.release);
    expect(deployed.run.json.vector.catalog).toBe(two.vector.catalog);
    expect(deployed.load.failed, deployed.load.failures.join('; ')).toBe(0);
    const again = await run(['release', 'shop-light', '--env', 'light', '--build', String(two.build)]);
    expect(again.json.unchanged).toBe(true);

    await commit('cart', 'cart v2, installed in place');
    expect((await run(['commit', 'cart'])).exitCode).toBe(0);
    const before = await containers('light');
    const upgraded = await underLoad('light', ['upgrade', '--env', 'light']);
    expect(upgraded.run.exitCode, upgraded.run.stderr).toBe(0);
    expect(upgraded.run.json.changed.cart).toEqual([1, 2]);
    expect(upgraded.load.failed, upgraded.load.failures.join('; ')).toBe(0);
    expect(await containers('light')).toEqual(before); // nothing restarted: the same containers
    expect(new Set((await router('light')).instances.map((i) => i.release))).toEqual(new Set([upgraded.run.json.release]));
    expect(await (await fetch(`${urls['light']?.['cart']}/version`)).text()).toMatch(/^cart 2/);

    // A cart version that never gets healthy: the upgrade is undone on every instance.
    const cartSh = join(repo.dir, 'services', 'cart', 'run.sh');
    const healthy = await readFile(cartSh, 'utf8');
    await writeFile(cartSh, healthy.replace('echo ok > "$root/healthz"', 'rm -f "$root/healthz"'));
    await repo.commitAll('cart broken', `2026-02-${String(day++).padStart(2, '0')}T00:00:00Z`);
    expect((await run(['commit', 'cart'])).exitCode).toBe(0);
    const bad = await underLoad('light', ['upgrade', '--env', 'light', 'cart'], { extra: { BAKE_HEALTH_TIMEOUT_MS: '3000' } });
    await writeFile(cartSh, healthy);
    await repo.commitAll('cart healthy again', `2026-02-${String(day++).padStart(2, '0')}T00:00:00Z`);
    expect((await run(['commit', 'cart'])).exitCode).toBe(0);
    expect(bad.run.exitCode).toBe(1);
    expect(bad.run.json.error.kind, bad.run.stderr).toBe('deploy-failed');
    expect(bad.load.failed, bad.load.failures.join('; ')).toBe(0);
    expect((await router('light')).instances.map((i) => i.release)).toEqual([upgraded.run.json.release, upgraded.run.json.release]);
    expect(await (await fetch(`${urls['light']?.['cart']}/version`)).text()).toMatch(/^cart 2/);
    expect((await status('light')).live[0].id).toBe(upgraded.run.json.release);
  });

  it('blue/green: returns once switched, and a rollback during probation flips back in under a second with nothing restarted', async () => {
    const base = await first('bg');
    const oldFleet = (await router('bg')).instances.map((i) => i.id).sort();
    await change('web', 'web for blue/green');
    const forward = await underLoad('bg', ['deploy', '--env', 'bg']);
    expect(forward.run.exitCode, forward.run.stderr).toBe(0);
    expect(forward.run.json.state).toBe('probation');
    expect(forward.run.json.probationUntil).toBeDefined();
    expect(forward.load.failed, forward.load.failures.join('; ')).toBe(0);
    expect((await router('bg')).instances).toHaveLength(4); // the old fleet stays up, with no traffic
    expect((await status('bg')).pending[0]).toMatch(/on probation until .*bake rollback/);

    const back = await underLoad('bg', ['rollback', '--env', 'bg']);
    expect(back.run.exitCode, back.run.stderr).toBe(0);
    expect(back.run.json.switchedMs).toBeLessThan(1000);
    expect(back.load.failed, back.load.failures.join('; ')).toBe(0);
    const after = await router('bg');
    expect(after.instances.map((i) => i.id).sort()).toEqual(oldFleet); // the same containers, not restarted
    expect(after.instances.every((i) => i.release === base.release)).toBe(true);
    const lastNew = Math.max(...back.load.timeline.filter((t) => t.release === forward.run.json.release).map((t) => t.sent), back.started);
    expect(lastNew - back.started).toBeLessThan(1500);

    // Again, and this time promote retires the old fleet early.
    const next = await run(['deploy', '--env', 'bg', '--retry']);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(next.json.state).toBe('probation');
    const promoted = await run(['promote', '--env', 'bg']);
    expect(promoted.exitCode, promoted.stderr).toBe(0);
    expect((await router('bg')).instances.map((i) => i.release)).toEqual([next.json.release, next.json.release]);
    const log = (await run(['log', '--env', 'bg'])).json.events
      .filter((e: { kind: string }) => e.kind === 'change')
      .map((e: { summary: string }) => e.summary);
    expect(log.join('\n')).toMatch(/installing → probation[\s\S]*probation → rolled-back[\s\S]*promote bg/);
  });

  it('blue/green preview: the new fleet answers on its preview port first; promote switches; the router retires the old after probation', async () => {
    const base = await first('pv');
    await change('catalog', 'catalog to preview');
    const previewed = await underLoad('pv', ['deploy', '--env', 'pv']);
    expect(previewed.run.exitCode, previewed.run.stderr).toBe(0);
    expect(previewed.load.failed).toBe(0);
    expect(previewed.load.releases.every((r) => r === base.release)).toBe(true);
    const preview = await fetch(`${previewed.run.json.preview.catalog}/version`);
    expect(Number(preview.headers.get('x-bake-release'))).toBe(previewed.run.json.release);
    const promoted = await underLoad('pv', ['promote', '--env', 'pv']);
    expect(promoted.run.exitCode, promoted.run.stderr).toBe(0);
    expect(promoted.run.json.state).toBe('probation');
    expect(promoted.load.failed).toBe(0);
    expect(Number((await fetch(`${urls['pv']?.['catalog']}/version`)).headers.get('x-bake-release'))).toBe(previewed.run.json.release);
    // Nobody runs bake: the router process ends the 2 s probation on its own.
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await status('pv')).live[0].state !== 'committed') await new Promise((r) => setTimeout(r, 250));
    expect((await router('pv')).instances.map((i) => i.release)).toEqual([previewed.run.json.release]);
    expect((await status('pv')).live[0].state).toBe('committed');
  });

  it('canary: ramps 20 → 50 → 100 under traffic, judged by the router counts, and promotes', async () => {
    await first('cn');
    await change('catalog', 'catalog canary that ramps');
    const ramp = await underLoad('cn', ['deploy', '--env', 'cn'], { path: '/cgi-bin/answer' });
    expect(ramp.run.exitCode, ramp.run.stderr).toBe(0);
    expect(ramp.run.json.state).toBe('committed');
    expect(ramp.load.failed, ramp.load.failures.join('; ')).toBe(0);
    const log = (await run(['log', '--env', 'cn'])).json.events.map((e: { summary: string }) => e.summary).join('\n');
    expect(log).toMatch(/canary step 1\/3: 20%[\s\S]*step 1 passed[\s\S]*canary step 2\/3: 50%[\s\S]*step 2 passed[\s\S]*→ committed/);
  });

  it('canary: a release that answers 500 to 20% of requests is withdrawn by its rule, with the figures recorded', async () => {
    const stable = (await status('cn')).live[0].id;
    await writeFile(join(repo.dir, 'services', 'catalog', 'answer.cgi'), answer(true));
    const flaky = await change('catalog', 'catalog that fails one request in five');
    await writeFile(join(repo.dir, 'services', 'catalog', 'answer.cgi'), answer(false));
    await repo.commitAll('catalog answers again', `2026-02-${String(day++).padStart(2, '0')}T00:00:00Z`);
    const canary = await underLoad('cn', ['deploy', '--env', 'cn'], { path: '/cgi-bin/answer' });
    expect(canary.run.exitCode).toBe(1);
    expect(canary.run.json.error.kind, canary.run.stderr).toBe('canary-failed');
    expect(canary.run.json.error.rule).toMatch(/^error rate \d+\.\d% > 5%$/);
    // What failed was the canary's own 500s, and only while it had its share.
    expect(
      canary.load.failures.every((f) => f === 'HTTP 500'),
      canary.load.failures.join('; '),
    ).toBe(true);
    const s = await status('cn');
    expect(s.live[0].id).toBe(stable);
    expect(s.lastStop.reason).toBe('analysis');
    expect(s.lastStop.figures.canary.errors).toBeGreaterThan(0);
    expect(s.lastStop.figures.stable.errors).toBe(0);
    expect((await router('cn')).instances.every((i) => i.release === stable)).toBe(true);
    expect(flaky.build).toBeGreaterThan(0);
  });

  it('canary with almost no traffic is inconclusive and paused, never promoted; abort by hand, then --retry', async () => {
    await first('quiet');
    await change('cart', 'cart canary nobody calls');
    const quiet = await run(['deploy', '--env', 'quiet']);
    expect(quiet.exitCode, quiet.stderr).toBe(0);
    expect(quiet.json.state).toBe('probation');
    expect(quiet.json.rollout.paused.reason).toBe('inconclusive');
    expect(quiet.json.rollout.paused.message).toMatch(/minimum sample of 50/);
    let s = await status('quiet');
    expect(s.live[0].state).toBe('probation');
    expect(s.pending[0]).toMatch(/paused .*inconclusive/);
    expect(s.serving.map((r: { release: number }) => r.release)).toContain(quiet.json.release);

    const aborted = await run(['abort', '--env', 'quiet']);
    expect(aborted.exitCode, aborted.stderr).toBe(0);
    expect(aborted.json.stopped.reason).toBe('abort');
    s = await status('quiet');
    expect(s.lastStop).toMatchObject({ release: quiet.json.release, reason: 'abort' });
    expect((await router('quiet')).instances.every((i) => i.release !== quiet.json.release)).toBe(true);

    const retried = await run(['deploy', '--env', 'quiet', '--retry']);
    expect(retried.exitCode, retried.stderr).toBe(0);
    expect(retried.json.build).toBe(quiet.json.build);
    expect(retried.json.release).toBeGreaterThan(quiet.json.release);
    const manifest: any = await manifestOf(repo.dir);
    expect(manifest.environments.quiet.releases.find((r: { id: number }) => r.id === retried.json.release).retryOf).toBe(
      quiet.json.release,
    );
    expect((await run(['rollback', '--env', 'quiet'])).exitCode).toBe(0);
  });

  it('A/B splits 50/50: keyless clients by share, keyed clients stay on their side', async () => {
    await first('ab');
    await change('web', 'web for an A/B test');
    const split = await underLoad('ab', ['deploy', '--env', 'ab']);
    expect(split.run.exitCode, split.run.stderr).toBe(0);
    expect(split.load.failed).toBe(0);
    const keyless = startLoad(`${urls['ab']?.['catalog']}/version`, { concurrency: 2, maxRequests: 200 });
    await new Promise((r) => setTimeout(r, 3000));
    const served = await keyless.stop();
    const share = served.releases.filter((r) => r === split.run.json.release).length / served.releases.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    for (const key of ['alice', 'bob']) {
      const keyed = await startLoad(`${urls['ab']?.['catalog']}/version`, {
        concurrency: 1,
        maxRequests: 10,
        headers: { 'x-bake-key': key },
      });
      await new Promise((r) => setTimeout(r, 500));
      expect(new Set((await keyed.stop()).releases).size).toBe(1);
    }
    const s = await status('ab');
    expect(s.serving.map((r: { share: number }) => r.share)).toEqual([50, 50]);
    expect((await run(['promote', '--env', 'ab'])).exitCode).toBe(0);
  });

  it('down removes only what it created: an identical image pulled from a registry survives', async () => {
    const registry = await startRegistry();
    let reference = '';
    try {
      const pushed = await run(['push', 'shop', `${registry.address}/shop`]);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      reference = pushed.json.reference;
      await engine.pullImage(reference);
      const id = await engine.imageId(reference);
      for (const env of ['bg', 'pv', 'cn', 'quiet', 'ab']) {
        const down = await run(['down', env]);
        expect(down.exitCode, down.stderr).toBe(0);
        expect(await containers(env)).toEqual([]);
      }
      expect(await engine.imageId(reference)).toBe(id); // still there, under the registry's name
      const manifest: any = await manifestOf(repo.dir);
      const newest = manifest.builds.shop.at(-1).id;
      expect(await engine.imageId(`bake/shop:${newest}`)).toBeUndefined(); // bake's own tag is gone
    } finally {
      if (reference) await engine.removeImage(reference);
      await registry.stop();
    }
  });
});
