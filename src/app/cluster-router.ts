import { loadRecipe } from '../config/recipe.js';
import type { EnvironmentConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import { findRouter } from '../deploy/router-process.js';
import { Label } from '../engine/labels.js';
import type { SwarmEngine, SwarmTask } from '../engine/swarm/swarm-engine.js';
import { alignReplicas, routerFleet, type RouterReplica } from '../router/router-fleet.js';
import type { RouterClient } from '../router/router-client.js';
import { BakeError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { bakeRouterImage } from './router-image.js';
import { workspaceScope } from './environment-runtime.js';
import { openSwarm, swarmOf } from './swarm-environment.js';

/**
 * The version-aware router inside a swarm (opt-in: `engine: {swarm: {…, router: N}}`): a replicated
 * service `bake-<env>-router-<scope>` of the image bake bakes itself (router-image.ts), on an
 * attachable overlay network `bake-<env>-net-<scope>` that the environment's release services join.
 * Each replica reaches tasks at their overlay addresses and container ports, and publishes its
 * listeners and control API in host mode on its node (no routing mesh here: no IPVS). Bake, on its
 * host, drives all replicas alike through a router fleet (router-fleet.ts) at node address + port.
 */

/** The container port of the control API and the first listener inside a router replica. */
const CONTROL_PORT = 19000;
const FIRST_LISTENER = 18080;

/** Replicas of the environment's in-cluster router; undefined: the router runs on the host (the default). */
export function clusterRouterReplicas(env: EnvironmentConfig): number | undefined {
  return swarmOf(env)?.router;
}

/** The router service's and the overlay network's names (the scope keeps two workspaces apart). */
export function clusterRouterNames(scope: string, env: string): { service: string; network: string } {
  return { service: `bake-${env}-router-${scope.slice(0, 8)}`, network: `bake-${env}-net-${scope.slice(0, 8)}` };
}

/** A running in-cluster router: the fleet client the strategies drive, and where each replica answers. */
export interface ClusterRouter {
  client: RouterClient;
  replicas: RouterReplica[];
  network: string;
}

/**
 * Creates the overlay and the router service (baking and pushing its image first) unless they
 * exist, waits (bounded) until `replicas` replicas answer on their nodes, and aligns their state.
 * `services` are the environment's services with ports (listeners, in order). Throws BakeError.
 */
export async function ensureClusterRouter(
  ctx: AppContext,
  swarm: SwarmEngine,
  env: EnvironmentConfig,
  scope: string,
  services: { name: string; port?: number }[],
): Promise<ClusterRouter> {
  const config = swarmOf(env);
  const replicas = config?.router;
  if (!config || replicas === undefined) throw new BakeError(`environment ${env.name} has no in-cluster router`);
  const { service: name, network } = clusterRouterNames(scope, env.name);
  const labels = { [Label.managed]: 'true', [Label.scope]: scope, [Label.env]: env.name };
  await swarm.ensureOverlay(network, labels);
  const listen = listenersOf(services);
  if (!(await swarm.service(name))) {
    const image = await bakeRouterImage(ctx, `${config.registry}/bake-router`);
    ctx.progress({ kind: 'done', message: `${env.name}: router image ${image}` });
    await swarm.createService(routerServiceSpec({ name, image, labels, replicas, network, listen, spread: env.spread ?? 'zone' }));
  }
  const running = await waitReplicas(swarm, name, replicas, listen);
  await alignReplicas(running);
  for (const r of running)
    ctx.progress({ kind: 'done', message: `${env.name}: router replica on ${r.node} ${r.address} ${JSON.stringify(r.listeners)}` });
  return { client: fleetOf(swarm, env, scope, services, running, network), replicas: running, network };
}

/** The fleet client over `replicas`: each added instance is given its task's overlay address and container ports. */
function fleetOf(
  swarm: SwarmEngine,
  env: EnvironmentConfig,
  scope: string,
  services: { name: string; port?: number }[],
  replicas: RouterReplica[],
  network: string,
): RouterClient {
  return routerFleet(replicas, async (instance) => {
    const task = await taskOf(swarm, scope, env, instance.id);
    const address = task?.addresses[network];
    if (!address) throw new BakeError(`task ${instance.id} has no address on ${network}: the router replicas cannot reach it`);
    const ports: Record<string, number> = {};
    for (const s of services) if (s.port !== undefined && instance.ports[s.name] !== undefined) ports[s.name] = s.port;
    return { ...instance, host: address, ports };
  });
}

/**
 * The router of an environment wherever it runs, for commands that only talk to a running one
 * (toggle, rollback, status): the process on 127.0.0.1 when it answers, else the in-cluster
 * replicas of a swarm environment with `router: N` that run now (never created here); undefined
 * when neither answers.
 */
export async function findEnvironmentRouter(workspace: string, envName: string): Promise<{ client: RouterClient } | undefined> {
  const local = await findRouter(workspace, envName);
  if (local) return local;
  const ws = await loadWorkspace(workspace).catch(() => undefined);
  const env = ws?.environments.get(envName);
  if (!ws || !env || clusterRouterReplicas(env) === undefined) return undefined;
  try {
    const swarm = await openSwarm(env);
    const scope = workspaceScope(ws.dir);
    const { service, network } = clusterRouterNames(scope, env.name);
    const recipe = await loadRecipe(ws, env.image);
    const services = recipe.services.map((name) => ({
      name,
      ...(ws.services.get(name)?.port !== undefined && { port: ws.services.get(name)?.port as number }),
    }));
    const listen = listenersOf(services);
    const replicas = await waitReplicas(swarm, service, 1, listen, 0);
    return { client: fleetOf(swarm, env, scope, services, replicas, network) };
  } catch {
    return undefined;
  }
}

/** Each service with a port gets a listener in the replica, at FIRST_LISTENER, FIRST_LISTENER + 1, … in order. */
function listenersOf(services: { name: string; port?: number }[]): { name: string; port: number }[] {
  return services.filter((s) => s.port !== undefined).map((s, i) => ({ name: s.name, port: FIRST_LISTENER + i }));
}

/** The engine's spec of the router service: env-configured replica, host-mode ports, spread over zones, dnsrr. */
function routerServiceSpec(o: {
  name: string;
  image: string;
  labels: Record<string, string>;
  replicas: number;
  network: string;
  listen: { name: string; port: number }[];
  spread: string;
}): Record<string, unknown> {
  const ms = (v: number) => v * 1_000_000;
  const ports = [...o.listen.map((l) => l.port), CONTROL_PORT];
  return {
    Name: o.name,
    Labels: o.labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Labels: o.labels,
        Env: [`BAKE_ROUTER_LISTEN=${o.listen.map((l) => `${l.name}=${l.port}`).join(',')}`, `BAKE_ROUTER_CONTROL=${CONTROL_PORT}`],
        Healthcheck: {
          Test: ['CMD', '/bin/busybox', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${CONTROL_PORT}/state`],
          Interval: ms(500),
          Timeout: ms(3000),
          Retries: 3,
          StartPeriod: ms(20_000),
        },
        StopGracePeriod: ms(5000),
      },
      RestartPolicy: { Condition: 'any', Delay: ms(500), MaxAttempts: 0 },
      Networks: [{ Target: o.network }],
      Placement: { Preferences: [{ Spread: { SpreadDescriptor: `node.labels.${o.spread}` } }], MaxReplicas: 1 },
    },
    Mode: { Replicated: { Replicas: o.replicas } },
    EndpointSpec: { Mode: 'dnsrr', Ports: ports.map((TargetPort) => ({ Protocol: 'tcp', TargetPort, PublishMode: 'host' })) },
  };
}

/** Waits (`waitMs`, default 60 s) until at least `count` tasks of the router service run on ready nodes and answer on their control port. */
async function waitReplicas(
  swarm: SwarmEngine,
  name: string,
  count: number,
  listen: { name: string; port: number }[],
  waitMs = 60_000,
): Promise<RouterReplica[]> {
  const deadline = Date.now() + waitMs;
  let last = 'no task yet';
  for (;;) {
    const [tasks, nodes] = await Promise.all([swarm.tasks(name), swarm.nodes()]);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const replicas: RouterReplica[] = [];
    for (const t of tasks.filter((t) => t.state === 'running' && t.desiredState === 'running')) {
      const node = byId.get(t.nodeId ?? '');
      const control = t.ports[CONTROL_PORT];
      if (node?.state !== 'ready' || control === undefined) continue;
      const listeners = Object.fromEntries(
        listen.flatMap((l) => (t.ports[l.port] === undefined ? [] : [[l.name, t.ports[l.port] as number]])),
      );
      replicas.push({ node: node.name, address: node.address, control, listeners });
    }
    last = `${replicas.length} of ${count} replicas running; tasks: ${tasks.map((t) => `${t.state}${t.error ? ` (${t.error})` : ''}`).join(', ')}`;
    if (replicas.length >= count) {
      const { routerClient } = await import('../router/router-client.js');
      const answers = await Promise.all(
        replicas.map((r) =>
          routerClient(r.control, r.address)
            .state()
            .then(
              () => true,
              () => false,
            ),
        ),
      );
      if (answers.every(Boolean)) return replicas;
      last = 'a replica does not answer on its control port yet';
    }
    if (Date.now() > deadline) throw new BakeError(`the router service ${name} did not come up within ${waitMs / 1000} s: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The task (of any service of the environment) whose id starts with `id`. */
async function taskOf(swarm: SwarmEngine, scope: string, env: EnvironmentConfig, id: string): Promise<SwarmTask | undefined> {
  const services = await swarm.listServices({ [Label.scope]: scope, [Label.env]: env.name, [Label.image]: env.image });
  for (const s of services) {
    const found = (await swarm.tasks(s.id)).find((t) => t.id.startsWith(id));
    if (found) return found;
  }
  return undefined;
}
