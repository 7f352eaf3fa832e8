import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { isServing } from '../../src/deploy/swarm/task-instances.js';
import { swarmServiceName } from '../../src/deploy/swarm/swarm-rollout.js';
import { createEngine } from '../../src/engine/docker-engine.js';
import { Label } from '../../src/engine/labels.js';
import { createSwarmEngine, type SwarmEngine } from '../../src/engine/swarm/swarm-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { exclusiveSwarm, inNode, testSwarm, type TestSwarm } from '../helpers/swarm.js';

// A clock of this file's own: its images are distinct from every other file's on the local engine.
process.env['SOURCE_DATE_EPOCH'] = '1700001515';
const tools = requireTools('git', 'busybox', 'docker', 'swarm');

// One bake.yaml, two engines: dev on the local Docker engine, prod on a real three-node swarm
// (scripts/test-swarm.sh: three dockerd in network namespaces, zones a, b, a), 4 replicas spread
// over the zones. The tests run in order: the first deploys both, the next upgrade prod.
describe.skipIf(tools.skip)('environments on a real multi-node swarm', () => {
  let cluster: TestSwarm;
  let swarm: SwarmEngine;
  let repo: Repo;
  let env: Record<string, string>;
  let day = 10;
  const service = () => swarmServiceName({ scope: workspaceScope(repo.dir), env: 'prod', image: 'shop' });

  async function change(what: string) {
    await appendFile(join(repo.dir, 'services', 'catalog', 'VERSION'), `${what}\n`);
    await repo.commitAll(what, `2026-02-${day++}T00:00:00Z`);
    const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop'], { env });
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0] as { build: number; digest: string };
  }

  /** Samples which zones have a serving task, every 100 ms, until stopped. */
  function watchZones() {
    const samples: Record<string, number>[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const [tasks, nodes] = await Promise.all([swarm.tasks(service()), swarm.nodes()]);
        const zone = new Map(nodes.map((n) => [n.id, n.labels['zone'] ?? '?']));
        const counts: Record<string, number> = { a: 0, b: 0 };
        for (const t of tasks.filter(isServing)) {
          const z = zone.get(t.nodeId ?? '') ?? '?';
          counts[z] = (counts[z] ?? 0) + 1;
        }
        samples.push(counts);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return samples;
      },
    };
  }

  let release: () => void = () => undefined;

  beforeAll(async () => {
    // One file at a time on the swarm (another one kills a node).
    release = await exclusiveSwarm();
    cluster = testSwarm();
    swarm = await createSwarmEngine(cluster.host);
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    const start = yaml.indexOf('environments:');
    const end = yaml.indexOf('\n# The services');
    const environments = [
      'environments:',
      '  dev:',
      '    image: shop',
      '    replicas: 1',
      '    dev: true',
      '  prod:',
      '    image: shop',
      '    replicas: 4',
      '    batch: 1',
      '    spread: zone',
      `    engine: {swarm: {host: '${cluster.host}', registry: ${cluster.registry}/bake-test-${workspaceScope(repo.dir)}}}`,
      '',
    ].join('\n');
    await writeFile(join(repo.dir, 'bake.yaml'), yaml.slice(0, start) + environments + yaml.slice(end));
    await repo.commitAll('dev local, prod on the swarm');
    env = { BAKE_REGISTRY_INSECURE: cluster.registry, BAKE_HEALTH_TIMEOUT_MS: '60000' };
  }, 900_000);

  afterAll(async () => {
    if (swarm && repo) {
      for (const s of await swarm.listServices({ [Label.scope]: workspaceScope(repo.dir) })) await swarm.removeService(s.id);
    }
    if (repo) await bake(['-C', repo.dir, 'down', 'dev']);
    if (repo) await bake(['-C', repo.dir, 'down', 'prod']);
    await repo?.cleanup();
    release();
  });

  it('runs dev on the local engine and prod on the swarm from one bake.yaml, by digest, spread over both zones', async () => {
    const build = await change('catalog v2');
    const dev = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev'], { env });
    expect(dev.exitCode, dev.stderr).toBe(0);
    const prod = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'prod'], { env });
    expect(prod.exitCode, prod.stderr).toBe(0);
    expect(prod.json.digest).toBe(build.digest);

    // dev's instance is a container on the local engine; prod has none there.
    const local = await createEngine();
    const scope = workspaceScope(repo.dir);
    expect(await local.listContainers({ [Label.scope]: scope, [Label.env]: 'dev' })).toHaveLength(1);
    expect(await local.listContainers({ [Label.scope]: scope, [Label.env]: 'prod' })).toHaveLength(0);

    // prod is a swarm service whose image is the release's digest in the environment's registry.
    const svc = await swarm.service(service());
    expect(svc?.image).toBe(`${cluster.registry}/bake-test-${scope}@${build.digest}`);
    const placement = prod.json.placement as { node: string; zone: string; state: string; release: number }[];
    expect(placement.filter((p) => p.state === 'running')).toHaveLength(4);
    expect(new Set(placement.map((p) => p.zone))).toEqual(new Set(['a', 'b']));
    expect(placement.every((p) => cluster.nodes.includes(p.node))).toBe(true);
    expect(placement.filter((p) => p.zone === 'a')).toHaveLength(2);

    // Both routers answer on 127.0.0.1 with the release's version; prod's from the swarm's nodes.
    for (const [name, result] of [
      ['dev', dev],
      ['prod', prod],
    ] as const) {
      const answer = await fetch(`${result.json.router.catalog}/version`);
      expect(answer.status, name).toBe(200);
      expect(Number(answer.headers.get('x-bake-release'))).toBe(result.json.release);
    }

    // bake status --env shows where each task runs.
    const status = await bake(['-C', repo.dir, 'status', '--env', 'prod'], { env });
    expect(status.exitCode, status.stderr).toBe(0);
    for (const node of new Set(placement.map((p) => p.node))) expect(status.stdout).toContain(node);
    expect(status.stdout).toMatch(/on bake-test-swarm-node\d \(zone [ab]\), running/);
  });

  it('rolls a new version over the zones one task at a time with 0 failed requests, each zone always serving', async () => {
    const before = (await swarm.service(service()))?.labels[Label.release];
    const build = await change('catalog v3');
    const status = await bake(['-C', repo.dir, '--json', 'status', '--env', 'prod'], { env });
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', 'prod', 'router.json'), 'utf8')) as {
      listeners: Record<string, number>;
    };
    expect(status.exitCode).toBe(0);
    const load = startLoad(`http://127.0.0.1:${info.listeners['catalog']}/version`, { concurrency: 3, maxMs: 240_000 });
    const zones = watchZones();
    const deploy = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'prod'], { env });
    const samples = await zones.stop();
    const served = await load.stop();
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(deploy.json.digest).toBe(build.digest);
    expect(served.failed, served.failures.slice(0, 5).join('; ')).toBe(0);
    expect(served.ok).toBeGreaterThan(50);
    // Both releases served during the rollout, and the new one at the end.
    expect(served.releases).toContain(Number(before));
    expect(served.releases.at(-1)).toBe(deploy.json.release);
    // start-first, one at a time: no sample ever saw a zone without a serving task.
    expect(samples.length).toBeGreaterThan(10);
    expect(samples.filter((s) => (s['a'] ?? 0) === 0 || (s['b'] ?? 0) === 0)).toEqual([]);
    const tasks = (await swarm.tasks(service())).filter(isServing);
    expect(tasks).toHaveLength(4);
    expect(new Set(tasks.map((t) => t.labels[Label.release]))).toEqual(new Set([String(deploy.json.release)]));
  });

  it('names the node that cannot pull, and the engine rolls the update back to the running release', async () => {
    const running = (await swarm.service(service()))?.labels[Label.release];
    await change('catalog v4');
    // node2 (zone b, the only one there) loses its way to the registry: its new tasks cannot pull.
    const node = cluster.nodes[1] ?? 'bake-test-swarm-node2';
    const registryHost = cluster.registry.split(':')[0] ?? '';
    inNode(node, 'ip', 'route', 'add', 'unreachable', `${registryHost}/32`);
    let deploy;
    try {
      deploy = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'prod'], { env });
    } finally {
      inNode(node, 'ip', 'route', 'del', 'unreachable', `${registryHost}/32`);
    }
    expect(deploy.exitCode, deploy.stdout).toBe(1);
    expect(deploy.json.error.message).toContain(`node ${node} cannot pull`);
    const tasks = (await swarm.tasks(service())).filter(isServing);
    expect(tasks).toHaveLength(4);
    expect(new Set(tasks.map((t) => t.labels[Label.release]))).toEqual(new Set([running]));
    const status = await bake(['-C', repo.dir, '--json', 'status', '--env', 'prod'], { env });
    expect(status.json.environments.prod.live[0].id).toBe(Number(running));
    expect(status.json.environments.prod.lastStop.message).toContain(node);
  });
  it('refuses, with exit 2 and nothing changed, what does not run on a swarm yet (in-place upgrades of light images)', async () => {
    const live = async () => (await bake(['-C', repo.dir, '--json', 'status', '--env', 'prod'], { env })).json.environments.prod.live[0].id;
    const before = await live();
    const upgrade = await bake(['-C', repo.dir, '--json', 'upgrade', '--env', 'prod'], { env });
    expect(upgrade.exitCode, upgrade.stderr).toBe(2);
    expect(upgrade.json.error.message).toMatch(/runs on a swarm/);
    expect(await live()).toBe(before);
  });
});
