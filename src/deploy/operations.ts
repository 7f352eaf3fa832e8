import type { Instance } from '../router/route-table.js';
import type { RouterClient } from '../router/router-client.js';
import type { BlobSource } from './blob-source.js';
import type { DeployTarget } from './deploy-plan.js';
import type { DeployEngine } from './instance.js';
import { containerInstances, type InstanceProvider } from './instance-provider.js';
import type { Step } from './steps.js';

/** The part of the router client the deploy steps use. */
export type DeployRouter = Pick<RouterClient, 'state' | 'add' | 'drain' | 'remove' | 'setRoutes' | 'update'>;

/** What every strategy works with. */
export interface DeployContext {
  engine: DeployEngine;
  router: DeployRouter;
  blobs: BlobSource;
  /** Where instances come from when not containers on `engine` (a swarm's tasks). */
  instances?: InstanceProvider;
  /** The release being deployed. */
  target: DeployTarget;
  /** The release running now (to recreate its instances when undoing), if any. */
  previous?: DeployTarget;
  replicas: number;
  /** How long a new instance may take to become healthy (default: the health module's). */
  healthTimeoutMs?: number;
  /** Aborted on SIGINT/SIGTERM: waits for health stop early, so the change is undone at once. */
  signal?: AbortSignal;
  log(line: string): void;
}

/** The context's instance provider: its own (a swarm's tasks), else containers on its engine. */
function instancesOf(ctx: Pick<DeployContext, 'engine' | 'blobs' | 'instances'>): InstanceProvider {
  return ctx.instances ?? containerInstances(ctx.engine, ctx.blobs);
}

/** Starts an instance of `target`, waits for it to be healthy, and registers it with the router. */
export function startStep(ctx: DeployContext, target: DeployTarget, started: Instance[]): Step {
  let instance: Instance | undefined;
  return {
    name: `start an instance of release ${target.release}`,
    async run() {
      const info = await instancesOf(ctx).start(target, {
        ...(ctx.healthTimeoutMs !== undefined && { timeoutMs: ctx.healthTimeoutMs }),
        ...(ctx.signal && { signal: ctx.signal }),
      });
      instance = { ...info, healthy: true, draining: false, inflight: 0 };
      await ctx.router.add(instance);
      started.push(instance);
    },
    async undo() {
      if (!instance) return;
      await retire(ctx, instance);
    },
  };
}

/** Drains an instance at the router (in-flight requests finish), then removes it (its container, or its task). */
export async function retire(
  ctx: Pick<DeployContext, 'engine' | 'blobs' | 'instances' | 'router'>,
  instance: Pick<Instance, 'id' | 'release'>,
): Promise<void> {
  await ctx.router.drain(instance.id);
  await ctx.router.remove(instance.id);
  await instancesOf(ctx).remove(instance);
}

/**
 * Retires an instance; undone by starting a fresh instance of the release it ran, which must be
 * `runs` (default: the context's previous release). Without a matching target there is nothing
 * to start it from, and the undo does nothing.
 */
export function retireStep(ctx: DeployContext, instance: Instance, runs: DeployTarget | undefined = ctx.previous): Step {
  const replacements: Instance[] = [];
  return {
    name: `retire instance ${instance.id} (release ${instance.release})`,
    run: () => retire(ctx, instance),
    async undo() {
      // An undo runs to the end even after an interruption: it is what puts the environment back.
      const { signal: _ignored, ...steady } = ctx;
      if (runs && runs.release === instance.release) await startStep(steady, runs, replacements).run();
    },
  };
}

/** Replaces the router's routes; undone by putting the old ones back. */
export function routeStep(ctx: DeployContext, name: string, routes: Parameters<RouterClient['setRoutes']>[0]): Step {
  let before: Parameters<RouterClient['setRoutes']>[0] = {};
  return {
    name,
    async run() {
      before = (await ctx.router.state()).routes;
      await ctx.router.setRoutes(routes);
    },
    undo: () => ctx.router.setRoutes(before),
  };
}
