import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterRouterNames } from '../../src/app/cluster-router.js';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createSwarmEngine, type SwarmEngine } from '../../src/engine/swarm/swarm-engine.js';
import { routerClient } from '../../src/router/router-client.js';
import { sumFigures } from '../../src/router/router-fleet.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { requireTools } from '../helpers/require-tools.js';
import { exclusiveSwarm, testSwarm, type TestSwarm } from '../helpers/swarm.js';
import { servingTasks, swarmWorkspace, type SwarmWorkspace } from './swarm-fixture.js';

process.env['SOURCE_DATE_EPOCH'] = '1700001519';
const tools = requireTools('git', 'busybox', 'docker', 'swarm');

// The router inside the cluster (`engine: {swarm: {…, router: 2}}`): two replicas of the image
// bake bakes itself (busybox, the host's node and its libraries, the compiled router), one per
// zone, reaching the release's tasks over an overlay network; bake on this host drives both.
describe.skipIf(tools.skip)('the version-aware router as a replicated swarm service', () => {
  let cluster: TestSwarm;
  let swarm: SwarmEngine;
  let ws: SwarmWorkspace;
  let release: () => void = () => undefined;
  const cli = (...args: string[]) => bake(['-C', ws.repo.dir, '--json', ...args], { env: ws.env });
  /** Each running router replica: its node's address, its published catalog listener and control port. */
  const replicas = async () => {
    const { service } = clusterRouterNames(workspaceScope(ws.repo.dir), 'prod');
    const [tasks, nodes] = await Promise.all([swarm.tasks(service), swarm.nodes()]);
    const address = new Map(nodes.map((n) => [n.id, n.address]));
    return tasks
      .filter((t) => t.state === 'running' && t.desiredState === 'running')
      .map((t) => ({ address: address.get(t.nodeId ?? '') ?? '', catalog: t.ports[18080] ?? 0, control: t.ports[19000] ?? 0 }));
  };
  /** The release services' serving tasks (the router's own service carries the environment's labels too, but no release). */
  const releaseTasks = async () => (await servingTasks(swarm, ws.repo)).filter((t) => t.release !== '');

  beforeAll(async () => {
    release = await exclusiveSwarm();
    cluster = testSwarm();
    swarm = await createSwarmEngine(cluster.host);
    ws = await swarmWorkspace(cluster, [
      'replicas: 2',
      'batch: 1',
      'spread: zone',
      'probation: 600',
      'canary: {percent: 50, cohort: [beta]}',
    ]);
    const yaml = join(ws.repo.dir, 'bake.yaml');
    await writeFile(yaml, (await readFile(yaml, 'utf8')).replace(/(registry: [^}]+)\}\}/, '$1, router: 2}}'));
    await ws.repo.commitAll('prod: the router inside the swarm, two replicas');
    await ws.change('catalog v2');
    const first = await cli('deploy', '--env', 'prod');
    expect(first.exitCode, first.stderr).toBe(0);
  }, 900_000);

  afterAll(async () => {
    if (swarm && ws) {
      await ws.cleanup(swarm);
      const { network } = clusterRouterNames(workspaceScope(ws.repo.dir), 'prod');
      await swarm.removeNetwork(network).catch(() => undefined);
    }
    release();
  }, 300_000);

  it('a rolling upgrade under load through both replicas loses no request, and their counts add up', async () => {
    const routers = await replicas();
    expect(routers).toHaveLength(2);
    expect(new Set(routers.map((r) => r.address)).size).toBe(2);
    // Both replicas know the same instances, at overlay addresses (not a node's) and container ports.
    const nodeAddresses = new Set((await swarm.nodes()).map((n) => n.address));
    const states = await Promise.all(routers.map((r) => routerClient(r.control, r.address).state()));
    expect(states[0]?.instances).toHaveLength(2);
    expect(states[1]?.instances.map((i) => i.id).sort()).toEqual(states[0]?.instances.map((i) => i.id).sort());
    for (const i of states.flatMap((s) => s.instances)) {
      expect(nodeAddresses.has(i.host ?? '')).toBe(false);
      expect(i.ports['catalog']).toBe(8081);
    }
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    await Promise.all(routers.map((r) => routerClient(r.control, r.address).resetStats()));
    await ws.change('catalog v3');
    const traffic = routers.map((r) => startLoad(`http://${r.address}:${r.catalog}/version`, { concurrency: 2, maxMs: 300_000 }));
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'rolling');
    // A little traffic after the rollout ends, all of it on the new release.
    await new Promise((r) => setTimeout(r, 1500));
    const served = await Promise.all(traffic.map((t) => t.stop()));
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('committed');
    for (const s of served) {
      expect(s.failed, s.failures.slice(0, 5).join('; ')).toBe(0);
      expect(s.releases).toContain(live);
      expect(s.releases).toContain(deploy.json.release);
      expect(s.releases.at(-1)).toBe(deploy.json.release);
    }
    // Each replica counted what it served; their sum is everything the load saw.
    const figures = await Promise.all(routers.map((r) => routerClient(r.control, r.address).stats()));
    for (const f of figures) expect(Object.values(f).reduce((n, x) => n + x.requests, 0)).toBeGreaterThan(0);
    const summed = sumFigures(figures);
    const total = Object.values(summed).reduce((n, x) => n + x.requests, 0);
    expect(total).toBe(served.reduce((n, s) => n + s.ok + s.failed, 0));
    expect(summed[String(deploy.json.release)]?.requests).toBeGreaterThan(0);
    // bake status --env shows the replicas' counts summed.
    const status = await cli('status', '--env', 'prod');
    expect(status.exitCode, status.stderr).toBe(0);
    const serving = (status.json.environments.prod.serving as { release: number; figures: { requests: number } }[]).find(
      (s) => s.release === deploy.json.release,
    );
    expect(serving?.figures.requests).toBe(summed[String(deploy.json.release)]?.requests);
  }, 900_000);

  it('a toggle reaches every replica at once', async () => {
    const toggled = await cli('toggle', 'new-ui', 'on', '--env', 'prod');
    expect(toggled.exitCode, toggled.stderr).toBe(0);
    for (const r of await replicas()) {
      expect((await routerClient(r.control, r.address).state()).toggles['new-ui']).toBe(true);
      const answer = await fetch(`http://${r.address}:${r.catalog}/version`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-bake-features')).toContain('new-ui');
    }
  }, 120_000);

  it('canary: on every replica the cohort goes to the canary, a pin stays put, and promote loses no request', async () => {
    const routers = await replicas();
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    await ws.change('catalog v4');
    const traffic = routers.map((r) => startLoad(`http://${r.address}:${r.catalog}/version`, { concurrency: 2, maxMs: 300_000 }));
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'canary');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('probation');
    for (const r of routers) {
      const url = `http://${r.address}:${r.catalog}/version`;
      for (let i = 0; i < 5; i++) {
        const beta = await fetch(url, { headers: { 'x-bake-cohort': 'beta' } });
        expect(Number(beta.headers.get('x-bake-release'))).toBe(deploy.json.release);
        const pinned = await fetch(url, { headers: { 'x-bake-release': String(live) } });
        expect(Number(pinned.headers.get('x-bake-release'))).toBe(live);
      }
    }
    const promote = await cli('promote', '--env', 'prod');
    await new Promise((r) => setTimeout(r, 1500));
    const served = await Promise.all(traffic.map((t) => t.stop()));
    expect(promote.exitCode, promote.stderr).toBe(0);
    expect(promote.json.state).toBe('committed');
    for (const s of served) {
      expect(s.failed, s.failures.slice(0, 5).join('; ')).toBe(0);
      expect(s.releases).toContain(live);
      expect(s.releases).toContain(deploy.json.release);
      expect(s.releases.at(-1)).toBe(deploy.json.release);
    }
  }, 900_000);

  it('blue/green: every replica switches to the second service, and bake rollback flips all back at once and removes it', async () => {
    const routers = await replicas();
    const live = (await cli('status', '--env', 'prod')).json.environments.prod.live[0].id as number;
    await ws.change('catalog v5');
    const traffic = routers.map((r) => startLoad(`http://${r.address}:${r.catalog}/version`, { concurrency: 2, maxMs: 300_000 }));
    const deploy = await cli('deploy', '--env', 'prod', '--strategy', 'blue-green');
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.state).toBe('probation');
    // Both fleets run, as two swarm services; every replica sends all traffic to the new one.
    const tasks = await releaseTasks();
    expect(new Set(tasks.map((t) => Number(t.release)))).toEqual(new Set([live, deploy.json.release]));
    expect(new Set(tasks.map((t) => t.service)).size).toBe(2);
    for (const r of routers) {
      const after = await fetch(`http://${r.address}:${r.catalog}/version`);
      expect(Number(after.headers.get('x-bake-release'))).toBe(deploy.json.release);
    }

    const rollback = await cli('rollback', '--env', 'prod');
    await new Promise((r) => setTimeout(r, 1500));
    const served = await Promise.all(traffic.map((t) => t.stop()));
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(rollback.json.to).toBe(live);
    expect(rollback.json.switchedMs).toBeLessThan(2000);
    for (const s of served) {
      expect(s.failed, s.failures.slice(0, 5).join('; ')).toBe(0);
      expect(s.releases).toContain(deploy.json.release);
      expect(s.releases.at(-1)).toBe(live);
    }
    // The withdrawn release's service is gone; the old one serves alone again, on both replicas.
    const left = await releaseTasks();
    expect(new Set(left.map((t) => Number(t.release)))).toEqual(new Set([live]));
    expect(new Set(left.map((t) => t.service)).size).toBe(1);
    for (const r of routers) {
      const answer = await fetch(`http://${r.address}:${r.catalog}/version`);
      expect(Number(answer.headers.get('x-bake-release'))).toBe(live);
    }
  }, 900_000);
});
