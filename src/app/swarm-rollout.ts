import { loadRecipe } from '../config/recipe.js';
import type { StrategyName } from '../config/names.js';
import type { EnvironmentConfig, WorkspaceConfig } from '../config/types.js';
import { healthTimeoutMs } from '../deploy/health.js';
import { ensureRouter } from '../deploy/router-process.js';
import { runSteps, StepsInterruptedError } from '../deploy/steps.js';
import { swarmRollingSteps, type SwarmTarget } from '../deploy/swarm/swarm-rollout.js';
import { placements, type TaskPlacement } from '../deploy/swarm/task-instances.js';
import { Label } from '../engine/labels.js';
import type { SwarmEngine } from '../engine/swarm/swarm-engine.js';
import { setReleaseState } from '../release/release-state.js';
import type { RouterClient } from '../router/router-client.js';
import { BakeError, UsageError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import type { AppContext } from './context.js';
import { openSwarm, swarmOf } from './swarm-environment.js';
import { bakeEntry, routerUrls, workspaceScope } from './environment-runtime.js';
import { push } from './push.js';
import { stopRecord } from './release-moves.js';
import type { DeployResult, RolloutRelease } from './rollout.js';

const debug = createLogger('deploy:swarm');

export { openSwarm, type SwarmEngineConfig, swarmOf } from './swarm-environment.js';

/**
 * The strategies a swarm environment runs: rolling and recreate by the engine's own update of the
 * environment's service; blue/green, canary and A/B by bake's steps over a second service.
 */
export const SWARM_STRATEGIES: readonly StrategyName[] = ['rolling', 'recreate', 'blue-green', 'canary', 'ab'];

/** True for the strategies the engine's own rolling update runs on a swarm. */
export function engineRolls(strategy: StrategyName): boolean {
  return strategy === 'rolling' || strategy === 'recreate';
}

/** Throws UsageError (exit 2) for a strategy the swarm adapter does not run yet. */
export function checkSwarmStrategy(env: EnvironmentConfig, strategy: StrategyName): void {
  if (swarmOf(env) && !SWARM_STRATEGIES.includes(strategy)) {
    throw new UsageError(
      `bake deploy: environment ${env.name} runs on a swarm, where bake rolls out with ${SWARM_STRATEGIES.join(' or ')} so far (not ${strategy}); use --strategy rolling`,
    );
  }
}

/**
 * Rolls a release the gate recorded (state installing) out to the environment's swarm: pushes the
 * build to the environment's registry, then has the engine replace the service's tasks by digest
 * (`registry/repo@sha256:…`), `batch` at a time, start-first, each gated by its health check,
 * spread over `spread` (zones), while the router on 127.0.0.1 follows the tasks. The release ends
 * committed, or rolled-back with the reason (the engine's rollback, a node that could not pull:
 * named). Throws StepsUndoneError, UndoFailedError, BakeError for a light build.
 */
export async function rollOutOnSwarm(
  ctx: AppContext,
  ws: WorkspaceConfig,
  env: EnvironmentConfig,
  release: RolloutRelease,
  strategy: StrategyName,
): Promise<DeployResult & { placement: TaskPlacement[] }> {
  const config = swarmOf(env);
  if (!config) throw new BakeError(`environment ${env.name} does not run on a swarm`);
  const fail = async (message: string, reason: 'failed' | 'interrupted') =>
    setReleaseState(ws.dir, env.name, release.id, 'rolled-back', {
      env: ctx.env,
      note: message,
      patch: { strategy, stopped: stopRecord(ctx, { reason, message }) },
    });
  const swarm = await openSwarm(env);
  const recipe = await loadRecipe(ws, env.image);
  const services = recipe.services.map((name) => {
    const s = ws.services.get(name);
    return { name, ...(s?.port !== undefined && { port: s.port }), ...(s?.health !== undefined && { health: s.health }) };
  });
  const ports: Record<string, number> = {};
  for (const s of services) if (s.port !== undefined) ports[s.name] = env.ports[s.name] ?? 0;
  const router = await swarmRouter(ctx, ws, env, swarm, services, ports);
  let target: SwarmTarget;
  try {
    if (release.level === 'light') {
      throw new BakeError(
        `${release.image}:${release.build} is a light build: a swarm task cannot have its service layers uploaded before it starts; bake it heavy for ${env.name}`,
      );
    }
    const pushed = await push(ctx, { image: release.image, target: config.registry, build: release.build });
    if (pushed.digest !== release.digest) {
      throw new BakeError(`the registry holds ${release.image}:${release.build} as ${pushed.digest}, not the release's ${release.digest}`);
    }
    target = {
      scope: workspaceScope(ws.dir),
      env: env.name,
      image: release.image,
      release: release.id,
      digest: release.digest,
      reference: pushed.reference,
      vector: release.vector,
      services,
      replicas: env.replicas,
      batch: env.batch,
      ...(env.spread !== undefined && { spread: env.spread }),
      ...(router.network !== undefined && { network: router.network }),
    };
  } catch (error) {
    await fail((error as Error).message, 'failed');
    throw error;
  }
  const log = (line: string) => {
    debug.debug(line, { env: env.name });
    ctx.progress({ kind: 'done', message: `${env.name}: ${line}` });
  };
  const lost = new Set<string>();
  // The environment's service is whichever runs it now (its own name, or a release's after a blue/green).
  const current = await swarm.listServices({ [Label.scope]: target.scope, [Label.env]: env.name, [Label.image]: env.image });
  const context = {
    swarm,
    router: router.client,
    target,
    ...(current.length === 1 && current[0] && { service: current[0].name }),
    healthTimeoutMs: healthTimeoutMs(ctx.env),
    ...(ctx.signal && { signal: ctx.signal }),
    log,
    lost,
  };
  try {
    await runSteps(swarmRollingSteps(context), {
      what: `deploy of ${release.image}:${release.build} to ${env.name} (swarm ${swarm.address})`,
      log,
      ...(ctx.signal && { signal: ctx.signal }),
    });
  } catch (error) {
    const interrupted = error instanceof StepsInterruptedError;
    await fail(
      interrupted ? 'interrupted (SIGINT/SIGTERM); every step done was undone' : (error as Error).message,
      interrupted ? 'interrupted' : 'failed',
    );
    throw error;
  }
  await setReleaseState(ws.dir, env.name, release.id, 'committed', {
    env: ctx.env,
    note:
      `rolled out on swarm ${swarm.address} as ${target.reference}` +
      (lost.size > 0 ? `; node ${[...lost].join(', node ')} went down during the rollout: completed on the remaining nodes` : ''),
    patch: { strategy },
  });
  return {
    env: env.name,
    image: release.image,
    build: release.build,
    release: release.id,
    digest: release.digest,
    vector: release.vector,
    strategy,
    state: 'committed',
    router: routerUrls(router.info.listeners),
    placement: await swarmPlacement(swarm, target, env.spread),
  };
}

/**
 * The router a swarm environment's strategies drive: by default the one on 127.0.0.1 (started when
 * it is not running); with `engine: {swarm: {router: N}}` the N replicas inside the swarm, which
 * reach tasks over `network` (the overlay every release service then joins).
 */
export async function swarmRouter(
  ctx: AppContext,
  ws: WorkspaceConfig,
  env: EnvironmentConfig,
  swarm: SwarmEngine,
  services: { name: string; port?: number }[],
  ports: Record<string, number>,
): Promise<{ client: RouterClient; info: { listeners: Record<string, number> }; network?: string }> {
  if (swarmOf(env)?.router === undefined) return ensureRouter(ws.dir, env.name, ports, bakeEntry());
  const { ensureClusterRouter } = await import('./cluster-router.js');
  const cluster = await ensureClusterRouter(ctx, swarm, env, workspaceScope(ws.dir), services);
  // No listener on 127.0.0.1: each replica's listeners answer on its node (the progress lines name them).
  return { client: cluster.client, info: { listeners: {} }, network: cluster.network };
}

/** Where each task of an environment's service runs (node, zone, state), as `bake status --env` shows it. */
export async function swarmPlacement(
  swarm: SwarmEngine,
  target: Pick<SwarmTarget, 'scope' | 'env' | 'image'>,
  spread: string | undefined,
): Promise<TaskPlacement[]> {
  const services = await swarm.listServices({ [Label.scope]: target.scope, [Label.env]: target.env, [Label.image]: target.image });
  const [tasks, nodes] = await Promise.all([Promise.all(services.map((s) => swarm.tasks(s.id))), swarm.nodes()]);
  return placements(tasks.flat(), nodes, spread);
}

/** The placement of an environment on its swarm for `bake status --env`; undefined for a local one. */
export async function environmentPlacement(ws: WorkspaceConfig, env: EnvironmentConfig): Promise<TaskPlacement[] | undefined> {
  if (!swarmOf(env)) return undefined;
  return swarmPlacement(await openSwarm(env), { scope: workspaceScope(ws.dir), env: env.name, image: env.image }, env.spread);
}

/**
 * `bake status --env` on a swarm environment: where each task runs, or why that could not be
 * asked (the manager does not answer); undefined for a local environment or one bake.yaml lacks.
 */
export async function statusPlacement(
  workspace: string,
  envName: string,
): Promise<{ placement: TaskPlacement[] } | { placementError: string } | undefined> {
  const { loadWorkspace } = await import('../config/workspace.js');
  const ws = await loadWorkspace(workspace);
  const env = ws.environments.get(envName);
  if (!env || !swarmOf(env)) return undefined;
  try {
    return { placement: (await environmentPlacement(ws, env)) ?? [] };
  } catch (error) {
    return { placementError: (error as Error).message };
  }
}

/** `bake down` on a swarm environment: removes its services (by scope and environment labels), nothing else. */
export async function removeSwarmServices(ws: WorkspaceConfig, env: EnvironmentConfig): Promise<string[]> {
  const swarm = await openSwarm(env);
  const services = await swarm.listServices({ [Label.scope]: workspaceScope(ws.dir), [Label.env]: env.name });
  for (const s of services) await swarm.removeService(s.id);
  if (swarmOf(env)?.router !== undefined) {
    // The overlay can be removed once the engine has detached the removed services' tasks from it.
    const { clusterRouterNames } = await import('./cluster-router.js');
    const { network } = clusterRouterNames(workspaceScope(ws.dir), env.name);
    for (let attempt = 0; attempt < 40; attempt++) {
      const removed = await swarm.removeNetwork(network).then(
        () => true,
        () => false,
      );
      if (removed) break;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return services.map((s) => s.name);
}
