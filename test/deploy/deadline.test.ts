import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// The progress deadline (as Argo Rollouts' progressDeadlineSeconds): a canary paused because
// nobody calls it is aborted once it has made no progress for `progressDeadline` seconds, by the
// environment's router process with nobody running bake, and the abort is recorded with why.
// Its own clock keeps its images apart from other files' (they run in parallel on one engine).
process.env['SOURCE_DATE_EPOCH'] = '1700000909';
const tools = requireTools('git', 'busybox', 'docker');

const DEADLINE = 2;
const ENVIRONMENT = `environments:
  late:
    image: shop
    replicas: 1
    strategy: canary
    progressDeadline: ${DEADLINE}
    canary: {steps: [{percent: 5, pause: 1}], analysis: {minRequests: 50}}
`;

describe.skipIf(tools.skip)('the progress deadline', () => {
  let repo: Repo;
  let engine: Engine;
  // Healthy instances start in well under a second; a lower bound keeps a broken start from hanging the file.
  const run = (args: string[]) => bake(['-C', repo.dir, ...args], { env: { BAKE_HEALTH_TIMEOUT_MS: '15000' } });
  const json = (args: string[]) => run(['--json', ...args]);
  async function status() {
    const s = await json(['status', '--env', 'late']);
    expect(s.exitCode, s.stderr).toBe(0);
    return s.json.environments.late;
  }
  async function routed() {
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', 'late', 'router.json'), 'utf8'));
    const state = (await (await fetch(`http://127.0.0.1:${info.control}/state`)).json()) as { instances: { release: number }[] };
    return state.instances.map((i) => i.release);
  }

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(join(repo.dir, 'bake.yaml'), yaml.replace('environments:\n', ENVIRONMENT));
    await repo.commitAll('an environment with a short progress deadline');
  }, 120_000);

  afterAll(async () => {
    if (repo) await run(['down', 'late']);
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it('a canary paused with no traffic past its deadline is aborted by the router process, recorded, and explained', async () => {
    expect((await json(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const base = await json(['deploy', '--env', 'late']);
    expect(base.exitCode, base.stderr).toBe(0);
    expect(base.json.state).toBe('committed');

    await appendFile(join(repo.dir, 'services', 'cart', 'VERSION'), 'cart canary nobody calls\n');
    await repo.commitAll('cart canary nobody calls', '2026-04-10T00:00:00Z');
    expect((await json(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const paused = await json(['deploy', '--env', 'late']);
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect(paused.json.state).toBe('probation');
    expect(paused.json.rollout.paused.reason).toBe('inconclusive');
    const canary = paused.json.release as number;

    // Nobody runs bake: the router process, checking each second, aborts it once the deadline passed.
    const until = Date.now() + 20_000;
    let s = await status();
    while (Date.now() < until && s.lastStop?.release !== canary) {
      await new Promise((r) => setTimeout(r, 250));
      s = await status();
    }
    expect(s.lastStop).toMatchObject({ release: canary, reason: 'deadline' });
    expect(s.lastStop.message).toMatch(new RegExp(`^no progress since \\S+ \\(deadline ${DEADLINE} s\\): the rollout was aborted$`));
    expect(s.live[0]).toMatchObject({ id: base.json.release, state: 'committed' });
    expect(s.pending ?? []).toEqual([]);

    // Not before its time: the deadline counts from the step's last progress.
    const since = Date.parse(paused.json.rollout.progressAt);
    expect(Date.parse(s.lastStop.at) - since).toBeGreaterThanOrEqual(DEADLINE * 1000);

    // The manifest: rolled back, with the stop recorded on the release.
    const manifest: any = await manifestOf(repo.dir);
    const record = manifest.environments.late.releases.find((r: { id: number }) => r.id === canary);
    expect(record.state).toBe('rolled-back');
    expect(record.stopped).toMatchObject({ reason: 'deadline', message: s.lastStop.message });

    // Traffic and instances: only the stable release is left.
    expect(await routed()).toEqual([base.json.release]);
    const containers = await engine.listContainers({ 'dev.bake.env': 'late', 'dev.bake.scope': workspaceScope(repo.dir) });
    expect(containers).toHaveLength(1);

    // bake log and bake status say why it stopped, in JSON and to a person.
    const log = (await json(['log', '--env', 'late'])).json.events.map((e: { summary: string }) => e.summary).join('\n');
    expect(log).toMatch(
      new RegExp(
        `canary step 1/1: 5%[\\s\\S]*inconclusive[\\s\\S]*` +
          `abort late: release ${canary} probation → rolled-back: no progress since \\S+ \\(deadline ${DEADLINE} s\\)`,
      ),
    );
    const human = await run(['status', '--env', 'late']);
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`last rollout stopped: release ${canary}, deadline at \\S+: no progress since`));
  });
});
