import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { isServing } from '../../src/deploy/swarm/task-instances.js';
import { Label } from '../../src/engine/labels.js';
import type { SwarmEngine } from '../../src/engine/swarm/swarm-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import type { TestSwarm } from '../helpers/swarm.js';

/** A shop workspace whose environment `prod` runs on the test swarm, and how to change and bake catalog. */
export interface SwarmWorkspace {
  repo: Repo;
  /** The environment bake runs with (the swarm's registry is plain HTTP). */
  env: Record<string, string>;
  /** Commits a change to catalog and bakes shop: the build. */
  change(what: string): Promise<{ build: number; digest: string }>;
  /** The router's listener of a service in an environment. */
  listener(envName: string, service: string): Promise<number>;
  /** Removes every swarm service of this workspace, both environments' routers, and the repository. */
  cleanup(swarm: SwarmEngine): Promise<void>;
}

/** Makes the workspace; `prod` holds the YAML lines of the prod environment below `engine:` (indented 4). */
export async function swarmWorkspace(cluster: TestSwarm, prod: string[], firstDay = 10): Promise<SwarmWorkspace> {
  const repo = await shopRepo();
  const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
  const start = yaml.indexOf('environments:');
  const end = yaml.indexOf('\n# The services');
  const scope = workspaceScope(repo.dir);
  const environments = [
    'environments:',
    '  dev:',
    '    image: shop',
    '    replicas: 1',
    '    dev: true',
    '  prod:',
    '    image: shop',
    ...prod.map((line) => `    ${line}`),
    `    engine: {swarm: {host: '${cluster.host}', registry: ${cluster.registry}/bake-test-${scope}}}`,
    '',
  ].join('\n');
  await writeFile(join(repo.dir, 'bake.yaml'), yaml.slice(0, start) + environments + yaml.slice(end));
  await repo.commitAll('dev local, prod on the swarm');
  const env = { BAKE_REGISTRY_INSECURE: cluster.registry, BAKE_HEALTH_TIMEOUT_MS: '60000' };
  let day = firstDay;
  return {
    repo,
    env,
    async change(what) {
      await appendFile(join(repo.dir, 'services', 'catalog', 'VERSION'), `${what}\n`);
      await repo.commitAll(what, `2026-02-${String(day++).padStart(2, '0')}T00:00:00Z`);
      const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop'], { env });
      expect(built.exitCode, built.stderr).toBe(0);
      return built.json.builds[0] as { build: number; digest: string };
    },
    async listener(envName, service) {
      const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', envName, 'router.json'), 'utf8')) as {
        listeners: Record<string, number>;
      };
      const port = info.listeners[service];
      if (port === undefined) throw new Error(`the router of ${envName} has no listener for ${service}`);
      return port;
    },
    async cleanup(swarm) {
      for (const s of await swarm.listServices({ [Label.scope]: scope })) await swarm.removeService(s.id);
      await bake(['-C', repo.dir, 'down', 'dev']);
      await bake(['-C', repo.dir, 'down', 'prod']);
      await repo.cleanup();
    },
  };
}

/** The serving tasks of this workspace's prod services, with the release each runs (on ready nodes only). */
export async function servingTasks(swarm: SwarmEngine, repo: Repo): Promise<{ release: string; node: string; service: string }[]> {
  const scope = workspaceScope(repo.dir);
  const [services, nodes] = await Promise.all([swarm.listServices({ [Label.scope]: scope, [Label.env]: 'prod' }), swarm.nodes()]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: { release: string; node: string; service: string }[] = [];
  for (const s of services) {
    for (const t of (await swarm.tasks(s.id)).filter(isServing)) {
      const node = byId.get(t.nodeId ?? '');
      if (node?.state === 'ready') out.push({ release: t.labels[Label.release] ?? '', node: node.name, service: s.name });
    }
  }
  return out;
}
