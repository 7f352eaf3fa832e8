import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSwarmStrategy, engineRolls, swarmOf } from '../../src/app/swarm-rollout.js';
import { releaseServiceName } from '../../src/deploy/swarm/task-provider.js';
import { loadWorkspace } from '../../src/config/workspace.js';
import { swarmRequest, type SwarmTarget } from '../../src/deploy/swarm/swarm-rollout.js';
import { lostNodes, placements, pullFailures, taskInstances } from '../../src/deploy/swarm/task-instances.js';
import { Label } from '../../src/engine/labels.js';
import { healthScript, serviceSpec } from '../../src/engine/swarm/service-spec.js';
import type { SwarmNode, SwarmTask } from '../../src/engine/swarm/swarm-engine.js';
import { InputError } from '../../src/util/errors.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function workspace(environments: string) {
  const dir = await mkdtemp(join(tmpdir(), 'bake-swarm-config-'));
  made.push(dir);
  await mkdir(join(dir, 'services', 'web'), { recursive: true });
  await writeFile(
    join(dir, 'bake.yaml'),
    `services:\n  web: {source: services/web, install: /srv/web, port: 8080, health: /healthz}\nenvironments:\n${environments}`,
  );
  return loadWorkspace(dir);
}

function envOf(ws: Awaited<ReturnType<typeof loadWorkspace>>, name: string) {
  const env = ws.environments.get(name);
  if (!env) throw new Error(`no environment ${name}`);
  return env;
}

const target: SwarmTarget = {
  scope: 'abc123',
  env: 'prod',
  image: 'shop',
  release: 7,
  digest: `sha256:${'a'.repeat(64)}`,
  reference: `10.213.0.254:5213/shop@sha256:${'a'.repeat(64)}`,
  vector: { web: 3 },
  services: [{ name: 'web', port: 8080, health: '/healthz' }, { name: 'worker' }],
  replicas: 4,
  batch: 2,
  spread: 'zone',
};

const nodes: SwarmNode[] = [
  { id: 'n1', name: 'node1', address: '10.213.0.1', labels: { zone: 'a' }, state: 'ready', availability: 'active' },
  { id: 'n2', name: 'node2', address: '10.213.0.2', labels: { zone: 'b' }, state: 'ready', availability: 'active' },
];

function task(id: string, patch: Partial<SwarmTask>): SwarmTask {
  return {
    id,
    nodeId: 'n1',
    state: 'running',
    desiredState: 'running',
    message: '',
    image: target.reference,
    labels: { [Label.release]: '7', [Label.vector]: '{"web":3}' },
    ports: { 8080: 30001 },
    at: '',
    ...patch,
  };
}

describe('engine: in bake.yaml', () => {
  it('defaults to the local engine and accepts a swarm with a registry and a spread label', async () => {
    const ws = await workspace(
      "  dev: {image: shop}\n  prod: {image: shop, spread: zone, engine: {swarm: {host: 'unix:///tmp/m.sock', registry: '10.0.0.1:5000/shop'}}}\n",
    );
    expect(swarmOf(envOf(ws, 'dev'))).toBeUndefined();
    expect(swarmOf(envOf(ws, 'prod'))).toEqual({ host: 'unix:///tmp/m.sock', registry: '10.0.0.1:5000/shop' });
    expect(ws.environments.get('prod')?.spread).toBe('zone');
    expect(swarmOf(envOf(await workspace('  dev: {image: shop, engine: local}\n'), 'dev'))).toBeUndefined();
  });

  it.each([
    ["engine: {swarm: {host: 'http://x', registry: 'r:1/a'}}", /DOCKER_HOST/],
    ["engine: {swarm: {host: 'tcp://m:2375'}}", /registry/],
    ['engine: kubernetes', /local or \{swarm/],
    ["spread: 'no spaces'", /node label/],
  ])('refuses %s with the fix', async (field, message) => {
    const error = await workspace(`  prod: {image: shop, ${field}}\n`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect(JSON.stringify((error as InputError).problems)).toMatch(message);
  });

  it('runs every strategy on a swarm: rolling and recreate by the engine, the others by bake over a second service', async () => {
    const ws = await workspace("  prod: {image: shop, engine: {swarm: {host: 'unix:///m.sock', registry: 'r:5/shop'}}}\n");
    const prod = envOf(ws, 'prod');
    for (const strategy of ['rolling', 'recreate', 'blue-green', 'canary', 'ab'] as const) {
      expect(() => checkSwarmStrategy(prod, strategy)).not.toThrow();
    }
    expect([engineRolls('rolling'), engineRolls('recreate'), engineRolls('blue-green'), engineRolls('canary')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(releaseServiceName({ scope: 'abc123', env: 'prod', image: 'shop', release: 9 })).toBe('bake-prod-shop-abc123-r9');
  });
});

describe('the swarm service spec', () => {
  it('uses the engine machinery: by digest, start-first batches, rollback on failure, health-gated, spread, host ports', () => {
    const spec = serviceSpec(swarmRequest(target, 30_000)) as Record<string, any>;
    expect(spec['Name']).toBe('bake-prod-shop-abc123');
    expect(spec['TaskTemplate'].ContainerSpec.Image).toBe(target.reference);
    expect(spec['TaskTemplate'].ContainerSpec.Labels[Label.release]).toBe('7');
    expect(spec['UpdateConfig']).toMatchObject({ Parallelism: 2, Order: 'start-first', FailureAction: 'rollback', MaxFailureRatio: 0 });
    expect(spec['UpdateConfig'].Monitor).toBeGreaterThan(0);
    expect(spec['TaskTemplate'].Placement.Preferences).toEqual([{ Spread: { SpreadDescriptor: 'node.labels.zone' } }]);
    expect(spec['EndpointSpec'].Ports).toEqual([{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }]);
    expect(spec['TaskTemplate'].ContainerSpec.Healthcheck.Test.slice(0, 3)).toEqual(['CMD', '/bin/busybox', 'sh']);
    expect(spec['TaskTemplate'].ContainerSpec.Healthcheck.StartPeriod).toBe(30_000 * 1_000_000);
  });

  it('has no placement preference without spread and no health check without health paths', () => {
    const { spread: _none, ...flat } = target;
    const spec = serviceSpec(swarmRequest({ ...flat, services: [{ name: 'worker' }] }, 1000)) as Record<string, any>;
    expect(spec['TaskTemplate'].Placement).toBeUndefined();
    expect(spec['TaskTemplate'].ContainerSpec.Healthcheck).toBeUndefined();
  });

  it('checks the health path, then that /version names the pinned version', () => {
    const script = healthScript([{ port: 8080, path: '/healthz', version: 3 }]);
    expect(script).toContain('http://127.0.0.1:8080/healthz');
    expect(script).toContain('*" 3 "*');
    expect(healthScript([{ port: 81, path: '/h' }])).not.toContain('/version');
  });
});

describe('tasks as bake sees them', () => {
  it('routes only to tasks running and meant to run, at their node address and published port', () => {
    const tasks = [
      task('t1aaaaaaaaaaaaaa', {}),
      task('t2bbbbbbbbbbbbbb', { nodeId: 'n2', ports: { 8080: 30002 } }),
      task('t3cccccccccccccc', { desiredState: 'shutdown' }),
      task('t4dddddddddddddd', { state: 'starting' }),
    ];
    const instances = taskInstances(tasks, nodes, target.services);
    expect(instances.map((i) => [i.id, i.host, i.ports['web'], i.release, i.node])).toEqual([
      ['t1aaaaaaaaaa', '10.213.0.1', 30001, 7, 'node1'],
      ['t2bbbbbbbbbb', '10.213.0.2', 30002, 7, 'node2'],
    ]);
    expect(instances[0]?.vector).toEqual({ web: 3 });
  });

  it('sends nothing to a node that is down, and names it when it ran a task of the service', () => {
    const down = nodes.map((n) => (n.id === 'n2' ? { ...n, state: 'down' } : n));
    const tasks = [task('t1aaaaaaaaaaaaaa', {}), task('t2bbbbbbbbbbbbbb', { nodeId: 'n2', ports: { 8080: 30002 } })];
    expect(taskInstances(tasks, down, target.services).map((i) => i.node)).toEqual(['node1']);
    expect(lostNodes(tasks, down)).toEqual(['node2']);
    expect(lostNodes([task('t1', {})], down)).toEqual([]);
  });

  it('places tasks on named nodes with their zone', () => {
    const shown = placements(
      [task('t1', { slot: 2, nodeId: 'n2' }), task('t2', { slot: 1 }), task('old', { state: 'shutdown', desiredState: 'shutdown' })],
      nodes,
      'zone',
    );
    expect(shown.map((p) => [p.task, p.node, p.zone])).toEqual([
      ['t2', 'node1', 'a'],
      ['t1', 'node2', 'b'],
    ]);
  });

  it('names each node that could not pull the image, once', () => {
    const failed = (id: string, nodeId: string, error: string) => task(id, { nodeId, state: 'rejected', desiredState: 'shutdown', error });
    const tasks = [
      failed('a', 'n2', 'No such image: 10.213.0.254:5213/shop@sha256:aaa'),
      failed('b', 'n2', 'No such image: 10.213.0.254:5213/shop@sha256:aaa'),
      failed('c', 'n1', 'task: non-zero exit (1)'),
      task('d', { image: 'other@sha256:bbb', state: 'rejected', error: 'No such image' }),
    ];
    expect(pullFailures(tasks, nodes, target.reference)).toEqual([
      { node: 'node2', image: target.reference, error: 'No such image: 10.213.0.254:5213/shop@sha256:aaa' },
    ]);
  });
});
