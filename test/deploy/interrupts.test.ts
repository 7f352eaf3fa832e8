import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { BAKE_LAUNCHER, bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// SIGINT at seeded random points of deploys, each followed by `status` and then `resume` or
// `rollback`; and toggles with requirements through a rollback. Its own clock keeps its images apart.
process.env['SOURCE_DATE_EPOCH'] = '1700000606';
const tools = requireTools('git', 'busybox', 'docker');

/** A small seeded PRNG (mulberry32): the same seed gives the same interruption points. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(tools.skip)('interruptions and toggles', () => {
  let repo: Repo;
  let engine: Engine;
  let url = '';
  let day = 10;
  const run = (args: string[]) => bake(['-C', repo.dir, '--json', ...args]);

  async function change(service: string, what: string) {
    await appendFile(join(repo.dir, 'services', service, 'VERSION'), `${what}\n`);
    await repo.commitAll(what, `2026-03-${String(day++).padStart(2, '0')}T00:00:00Z`);
    const built = await run(['build', '--commit', 'shop']);
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0] as { build: number; vector: Record<string, number> };
  }
  async function router() {
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', 'dev', 'router.json'), 'utf8'));
    return (await (await fetch(`http://127.0.0.1:${info.control}/state`)).json()) as {
      instances: { id: string; release: number }[];
      toggles: Record<string, boolean>;
    };
  }
  async function status() {
    const s = await run(['status', '--env', 'dev']);
    expect(s.exitCode, s.stderr).toBe(0);
    return s.json.environments.dev;
  }
  /** The environment is whole: what the router routes to is exactly what runs, all of the live release. */
  async function expectWhole() {
    const s = await status();
    const live = s.live[0];
    const instances = (await router()).instances;
    const running = (await engine.listContainers({ 'dev.bake.env': 'dev', 'dev.bake.scope': workspaceScope(repo.dir) })).map((c) =>
      c.id.slice(0, 12),
    );
    expect(instances.map((i) => i.id).sort()).toEqual(running.sort());
    expect(live.state).toBe('committed');
    expect(instances.map((i) => i.release)).toEqual([live.id, live.id]);
  }

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml.replace(
        '    dev: true\n',
        '    dev: true\n    probation: 1\n    canary: {steps: [{percent: 30, pause: 2}], analysis: {minRequests: 5}}\n',
      ),
    );
    await repo.commitAll('dev environment');
    const up = await run(['up', 'dev']);
    expect(up.exitCode, up.stderr).toBe(0);
    url = up.json.router.catalog;
  }, 120_000);
  afterAll(async () => {
    if (repo) await run(['down', 'dev']);
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it('SIGINT at seeded random points: every deploy is undone, finished, or left resumable and then finished', async () => {
    const random = prng(12);
    const strategies = ['rolling', 'blue-green', 'canary', 'rolling', 'canary', 'blue-green'] as const;
    const outcomes: string[] = [];
    for (const [i, strategy] of strategies.entries()) {
      await change('web', `web, interrupted deploy ${i}`);
      const delay = Math.round(400 + random() * 3000);
      const load = startLoad(`${url}/version`, { concurrency: 2 });
      const before = { live: (await status()).live[0].id, events: (await run(['log', '--env', 'dev'])).json.events.length };
      // Started as users start it: the bin/bake launcher, whose Node starts without the CA bundle.
      const child = execa(BAKE_LAUNCHER, ['-C', repo.dir, '--json', 'deploy', '--env', 'dev', '--strategy', strategy], {
        reject: false,
        stdin: 'ignore',
      });
      const timer = setTimeout(() => child.kill('SIGINT'), delay);
      const done = await child;
      clearTimeout(timer);
      const json = JSON.parse(done.stdout || '{}');
      const s = await status();
      const live = s.live[0];
      let outcome = `${strategy}@${delay}ms: exit ${done.exitCode}`;
      const said = `${outcome} (signal ${done.signal ?? 'none'}): stdout ${done.stdout} stderr ${done.stderr}`;
      if (done.signal !== undefined) {
        // Only a signal before Node has run any of bake (its first few tens of ms on a loaded machine)
        // may end it by the signal: then nothing was done, nothing recorded, and nothing printed.
        expect(done.signal, said).toBe('SIGINT');
        expect(done.stdout + done.stderr, said).toBe('');
        expect({ live: live.id, events: (await run(['log', '--env', 'dev'])).json.events.length }, said).toEqual(before);
        outcome += ' (before bake started)';
      } else if (done.exitCode !== 0) expect(json.error?.kind, said).toBe('interrupted');
      if (live.state === 'probation') {
        // Left on purpose, recorded: status explains it, and resume (a canary) or rollback finishes it.
        expect(s.pending.join('\n')).toMatch(/bake (rollback|promote|deploy --resume)/);
        const finish =
          live.rollout?.paused?.reason === 'interrupted' ? ['deploy', '--env', 'dev', '--resume'] : ['rollback', '--env', 'dev'];
        const finished = await run(finish);
        expect(finished.exitCode, finished.stderr).toBe(0);
        outcome += `, ${finish[0]}${finish[3] ?? ''}`;
        if ((await status()).live[0].state === 'probation') expect((await run(['promote', '--env', 'dev'])).exitCode).toBe(0);
      }
      // A blue/green probation (1 s) that ran out is ended by the router process or the next command.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await status()).live[0].state !== 'committed') await new Promise((r) => setTimeout(r, 250));
      const served = await load.stop();
      expect(served.failed, `${outcome}: ${served.failures.join('; ')}`).toBe(0);
      await expectWhole();
      outcomes.push(outcome);
    }
    // The seed reaches both kinds of ending: undone by the interruption, and finished.
    expect(
      outcomes.some((o) => /exit 1/.test(o)),
      outcomes.join('\n'),
    ).toBe(true);
  });

  it('a toggle with requirements through a rollback: turned off first (recorded), or the rollback refused with exit 3', async () => {
    await expectWhole();
    const cart = await change('cart', 'cart that the new checkout needs');
    const forward = await run(['deploy', '--env', 'dev', '--strategy', 'rolling']);
    expect(forward.exitCode, forward.stderr).toBe(0);
    const need = `cart>=${cart.vector.cart}`;

    const refusing = await run(['toggle', 'checkout', 'on', '--env', 'dev', '--requires', need, '--conflict', 'refuse']);
    expect(refusing.exitCode, refusing.stderr).toBe(0);
    const refused = await run(['rollback', '--env', 'dev']);
    expect(refused.exitCode).toBe(3);
    expect(refused.json.error).toMatchObject({ kind: 'toggle-conflict', toggle: 'checkout', service: 'cart', want: cart.vector.cart });
    expect((await router()).instances.every((i) => i.release === forward.json.release)).toBe(true);

    const off = await run(['toggle', 'checkout', 'on', '--env', 'dev', '--requires', need]);
    expect(off.exitCode, off.stderr).toBe(0);
    const load = startLoad(`${url}/version`, { concurrency: 2 });
    const back = await run(['rollback', '--env', 'dev']);
    const served = await load.stop();
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.json.togglesOff).toEqual(['checkout']);
    expect(served.failed).toBe(0);
    expect((await router()).toggles['checkout']).toBe(false);
    const response = await fetch(`${url}/version`);
    expect(response.headers.get('x-bake-features')).toBe('');
    const log = (await run(['log', '--env', 'dev'])).json.events.map((e: { summary: string }) => e.summary).join('\n');
    expect(log).toMatch(/toggle checkout on \(requires cart>=\d+; on conflict: off\)[\s\S]*toggle checkout off before the rollback/);
  });
});
