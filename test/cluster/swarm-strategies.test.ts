import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwarmEngine, type SwarmEngine } from '../../src/engine/swarm/swarm-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { requireTools } from '../helpers/require-tools.js';
import { exclusiveSwarm, testSwarm, type TestSwarm } from '../helpers/swarm.js';
import { servingTasks, swarmWorkspace, type SwarmWorkspace } from './swarm-fixture.js';

process.env['SOURCE_DATE_EPOCH'] = '1700001517';
const tools = requireTools('git', 'busybox', 'docker', 'swarm');

// Blue/green with probation and flip-back, and canary with promote, on the swarm: the new release
// runs as a second swarm service (…-r<release>) beside the environment's own, and bake's router on
// 127.0.0.1 shifts traffic between the two services' tasks; the old service goes at the end.
describe.skipIf(tools.skip)('blue/green and canary on a real multi-node swarm', () => {
  let cluster: TestSwarm;
  let swarm: SwarmEngine;
  let ws: SwarmWorkspace;
  let release: () => void = () => undefined;
  const cli = (...args: string[]) => bake(['-C', ws.repo.dir, '--json', ...args], { env: ws.env });
  const releases = async () => new Set((await servingTasks(swarm, ws.repo)).map((t) => Number(t.release)));
  const services = async () => new Set((await servingTasks(swarm, ws.repo)).map((t) => t.service));
  const load = async () =>
    startLoad(`http://127.0.0.1:${await ws.listener('prod', 'catalog')}/version`, { concurrency: 3, maxMs: 300_000 });

  beforeAll(async () => {
    release = await exclusiveSwarm();
    cluster = testSwarm();
    swarm = await createSwarmEngine(cluster.host);
    ws = await swarmWorkspace(cluster, ['replicas: 2', 'batch: 1', 'spread: zone', 'probation: 600', 'canary: {percent: 50}']);
    await ws.change('catalog v2');
    const first = await cli('deploy', '--env', 'prod');
    expect(first.exitCode, first.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    if (swarm && ws) await ws.cleanup(swarm);
    release();
  }, 300_000);

  it('blue/green: switches to a second service, keeps the old one on probation, and bake rollback flips back at once', async () => {
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    await ws.change('catalog v3');
    const traffic = await load();
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'blue-green');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('probation');
    // Both fleets run, as two swarm services; all traffic is on the new one.
    expect(await releases()).toEqual(new Set([live, deploy.json.release]));
    expect((await services()).size).toBe(2);
    const after = await fetch(`${deploy.json.router.catalog}/version`);
    expect(Number(after.headers.get('x-bake-release'))).toBe(deploy.json.release);

    const rollback = await cli('rollback', '--env', 'prod');
    const served = await traffic.stop();
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.json.to).toBe(live);
    expect(rollback.json.switchedMs).toBeLessThan(2000);
    expect(served.failed, served.failures.slice(0, 5).join('; ')).toBe(0);
    expect(served.releases).toContain(deploy.json.release);
    expect(served.releases.at(-1)).toBe(live);
    // The withdrawn release's service is gone; the old one serves alone again.
    expect(await releases()).toEqual(new Set([live]));
    expect((await services()).size).toBe(1);
  });

  it('canary: a share of traffic goes to a one-task second service, and bake promote finishes it and removes the old service', async () => {
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    const oldServices = await services();
    await ws.change('catalog v4');
    const traffic = await load();
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'canary');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('probation');
    const canary = (await servingTasks(swarm, ws.repo)).filter((t) => Number(t.release) === deploy.json.release);
    expect(canary).toHaveLength(1);
    // The router sends about half the requests to the canary while it is on probation.
    await new Promise((r) => setTimeout(r, 3000));
    const promote = await cli('promote', '--env', 'prod');
    const served = await traffic.stop();
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(promote.json.state).toBe('committed');
    expect(served.failed, served.failures.slice(0, 5).join('; ')).toBe(0);
    expect(served.releases).toContain(live);
    expect(served.releases).toContain(deploy.json.release);
    expect(served.releases.at(-1)).toBe(deploy.json.release);
    // Promoted: 2 tasks of the canary's service, the old service removed.
    const tasks = await servingTasks(swarm, ws.repo);
    expect(tasks.map((t) => Number(t.release))).toEqual([deploy.json.release, deploy.json.release]);
    expect([...(await services())].some((s) => oldServices.has(s))).toBe(false);

    // The environment's service is now the canary's: a rolling deploy updates it in place.
    await ws.change('catalog v5');
    const rolling = await cli('deploy', '--env', 'prod', '--strategy', 'rolling');
    expect(rolling.exitCode, rolling.stderr).toBe(0);
    expect(await releases()).toEqual(new Set([rolling.json.release]));
    expect((await services()).size).toBe(1);
  });

  it('A/B: a second service takes half the keyless traffic, keyed clients stay on their side, and bake promote ends it', async () => {
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    await ws.change('catalog v6');
    const traffic = await load();
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'ab');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('probation');
    expect(await releases()).toEqual(new Set([live, deploy.json.release]));
    expect((await services()).size).toBe(2);
    // Keyless clients are split by share, about half each.
    const url = `http://127.0.0.1:${await ws.listener('prod', 'catalog')}/version`;
    const keyless = startLoad(url, { concurrency: 2, maxRequests: 200 });
    await new Promise((r) => setTimeout(r, 3000));
    const split = await keyless.stop();
    const share = split.releases.filter((r) => r === deploy.json.release).length / split.releases.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    // A keyed client stays on its side, whichever task of either service answers.
    for (const key of ['alice', 'bob']) {
      const keyed = startLoad(url, { concurrency: 1, maxRequests: 10, headers: { 'x-bake-key': key } });
      await new Promise((r) => setTimeout(r, 500));
      expect(new Set((await keyed.stop()).releases).size).toBe(1);
    }
    const status = await cli('status', '--env', 'prod');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json.environments.prod.serving.map((r: { share: number }) => r.share)).toEqual([50, 50]);

    const promote = await cli('promote', '--env', 'prod');
    await new Promise((r) => setTimeout(r, 1500));
    const served = await traffic.stop();
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(promote.json.state).toBe('committed');
    expect(served.failed, served.failures.slice(0, 5).join('; ')).toBe(0);
    expect(served.releases).toContain(live);
    expect(served.releases).toContain(deploy.json.release);
    expect(served.releases.at(-1)).toBe(deploy.json.release);
    const tasks = await servingTasks(swarm, ws.repo);
    expect(tasks.map((t) => Number(t.release))).toEqual([deploy.json.release, deploy.json.release]);
    expect((await services()).size).toBe(1);
  });
});
