import { loadRecipe } from '../config/recipe.js';
import type { EnvironmentConfig, WorkspaceConfig } from '../config/types.js';
import { workspacePaths } from '../config/workspace-paths.js';
import { healthTimeoutMs, waitHealthy } from '../deploy/health.js';
import { environmentServices, environmentTasks, swarmInstances, type SwarmInstancesContext } from '../deploy/swarm/task-provider.js';
import { createEngine } from '../engine/docker-engine.js';
import { Label } from '../engine/labels.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { BakeError } from '../util/errors.js';
import type { Digest } from '../util/digest.js';
import { imageIdOfConfig } from '../util/image-id.js';
import { createLogger } from '../util/log.js';
import type { AppContext } from './context.js';
import { openRuntime, workspaceScope, type EnvironmentRuntime } from './environment-runtime.js';
import { push } from './push.js';
import { openSwarm, swarmOf, swarmRouter } from './swarm-rollout.js';

const debug = createLogger('deploy:swarm');

/** The runtime of an environment on whichever engine it names: the local engine, or its swarm. */
export function openEnvironment(ctx: AppContext, ws: WorkspaceConfig, env: EnvironmentConfig): Promise<EnvironmentRuntime> {
  return swarmOf(env) ? openSwarmRuntime(ctx, ws, env) : openRuntime(ctx, ws, env);
}

/**
 * The runtime of a swarm environment, for the strategies bake runs itself (blue/green, canary,
 * A/B, promote, withdraw, going back): the same steps as on the local engine, with the tasks of
 * one swarm service per release as the instances, and the router on 127.0.0.1 in front. Opening it
 * first brings the router in step with the tasks that serve now (it follows them only while bake
 * works on the environment). Each release's image reaches the swarm by digest: the one its service
 * already runs, else pushed to the environment's registry. Throws EngineUnavailableError, EngineError.
 */
export async function openSwarmRuntime(ctx: AppContext, ws: WorkspaceConfig, env: EnvironmentConfig): Promise<EnvironmentRuntime> {
  const config = swarmOf(env);
  if (!config) throw new BakeError(`environment ${env.name} does not run on a swarm`);
  const swarm = await openSwarm(env);
  const recipe = await loadRecipe(ws, env.image);
  const services = recipe.services.map((name) => {
    const s = ws.services.get(name);
    return { name, ...(s?.port !== undefined && { port: s.port }), ...(s?.health !== undefined && { health: s.health }) };
  });
  const ports: Record<string, number> = {};
  for (const s of services) if (s.port !== undefined) ports[s.name] = env.ports[s.name] ?? 0;
  const router = await swarmRouter(ctx, ws, env, swarm, services, ports);
  const provider: SwarmInstancesContext = {
    swarm,
    router: router.client,
    scope: workspaceScope(ws.dir),
    env: env.name,
    image: env.image,
    services,
    ...(env.spread !== undefined && { spread: env.spread }),
    ...(router.network !== undefined && { network: router.network }),
    log(line) {
      debug.debug(line, { env: env.name });
      ctx.progress({ kind: 'done', message: `${env.name}: ${line}` });
    },
  };
  await followTasks(provider);
  const store = await openLayoutStore(workspacePaths(ws.dir).store);
  return {
    ws,
    env,
    // Never pinged nor used here: the swarm's tasks are the instances (`instances`), not local containers.
    engine: await createEngine(ctx.env),
    router: router.client,
    listeners: router.info.listeners,
    blobs: { open: (d) => store.openRead(d), size: async (d) => (await store.readBytes(d)).length },
    healthTimeoutMs: healthTimeoutMs(ctx.env),
    instances: swarmInstances(provider),
    async targetOf(release) {
      if (release.level === 'light') {
        throw new BakeError(
          `${release.image}:${release.build} is a light build: a swarm task cannot have its service layers uploaded before it starts; bake it heavy for ${env.name}`,
        );
      }
      const running = (await environmentServices(provider)).find((s) => s.labels[Label.release] === String(release.id));
      let reference = running?.image;
      if (!reference) {
        const pushed = await push(ctx, { image: release.image, target: config.registry, build: release.build });
        if (pushed.digest !== release.digest) {
          throw new BakeError(
            `the registry holds ${release.image}:${release.build} as ${pushed.digest}, not the release's ${release.digest}`,
          );
        }
        reference = pushed.reference;
      }
      const manifest = JSON.parse((await store.readBytes(release.digest)).toString('utf8')) as { config?: { digest?: string } };
      return {
        scope: provider.scope,
        env: env.name,
        image: release.image,
        release: release.id,
        digest: release.digest,
        imageId: imageIdOfConfig((manifest.config?.digest ?? release.digest) as Digest),
        level: release.level,
        vector: release.vector,
        serviceLayers: release.serviceLayers,
        services,
        publish: {},
        reference,
      };
    },
  };
}

/**
 * Brings the router in step with the tasks of the environment's services: serving tasks it does
 * not know join once healthy at their versions; instances whose task no longer serves are drained
 * and removed. Routes are left as they are (a blue/green probation keeps its idle fleet).
 */
export async function followTasks(ctx: SwarmInstancesContext): Promise<void> {
  const [tasks, state] = await Promise.all([environmentTasks(ctx), ctx.router.state()]);
  const known = new Set(state.instances.map((i) => i.id));
  const serving = new Set(tasks.map((t) => t.instance.id));
  for (const { instance } of tasks) {
    if (known.has(instance.id)) continue;
    const { node: _node, ...routed } = instance;
    const ok = await Promise.all(
      Object.entries(routed.health).map(([service, path]) => {
        const port = routed.ports[service];
        const version = routed.vector[service];
        if (port === undefined) return true;
        return waitHealthy({ service, port, path, host: routed.host ?? '', ...(version !== undefined && { version }) }, 3000).then(
          () => true,
          () => false,
        );
      }),
    );
    if (ok.every(Boolean)) await ctx.router.add(routed);
  }
  for (const gone of state.instances.filter((i) => !serving.has(i.id))) {
    await ctx.router.drain(gone.id);
    await ctx.router.remove(gone.id);
  }
}
