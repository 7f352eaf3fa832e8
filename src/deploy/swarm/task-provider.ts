import { Label } from '../../engine/labels.js';
import { serviceSpec } from '../../engine/swarm/service-spec.js';
import type { SwarmEngine, SwarmService } from '../../engine/swarm/swarm-engine.js';
import type { Instance } from '../../router/route-table.js';
import { BakeError } from '../../util/errors.js';
import type { DeployTarget } from '../deploy-plan.js';
import { waitHealthy } from '../health.js';
import type { InstanceProvider, StartedInstance } from '../instance-provider.js';
import type { DeployRouter } from '../operations.js';
import { swarmRequest, swarmServiceName } from './swarm-rollout.js';
import { taskInstances, type TaskInstance } from './task-instances.js';

/** What the swarm's instance provider works with: the environment's services are found by these labels. */
export interface SwarmInstancesContext {
  swarm: SwarmEngine;
  router: DeployRouter;
  scope: string;
  env: string;
  image: string;
  /** The image's services: their ports and health paths, as every release of it declares them. */
  services: { name: string; port?: number; health?: string }[];
  spread?: string;
  /** The overlay network the environment's in-cluster router reaches tasks over, when it has one. */
  network?: string;
  log(line: string): void;
}

/** The swarm service of one release beside the environment's own (blue/green, canary, A/B: a second service). */
export function releaseServiceName(target: Pick<DeployTarget, 'scope' | 'env' | 'image' | 'release'>): string {
  return `${swarmServiceName(target).slice(0, 55)}-r${target.release}`;
}

/** Every swarm service of the environment's image in this workspace (one, or two while a release is on probation). */
export function environmentServices(ctx: SwarmInstancesContext): Promise<SwarmService[]> {
  return ctx.swarm.listServices({ [Label.scope]: ctx.scope, [Label.env]: ctx.env, [Label.image]: ctx.image });
}

/** The serving tasks of every service of the environment, as router instances (ready nodes only). */
export async function environmentTasks(ctx: SwarmInstancesContext): Promise<{ service: SwarmService; instance: TaskInstance }[]> {
  const [services, nodes] = await Promise.all([environmentServices(ctx), ctx.swarm.nodes()]);
  const out: { service: SwarmService; instance: TaskInstance }[] = [];
  for (const service of services) {
    for (const instance of taskInstances(await ctx.swarm.tasks(service.id), nodes, ctx.services)) out.push({ service, instance });
  }
  return out;
}

/** Bake's own check from this host, at the task's node address: every health path, at the pinned version. */
async function healthy(instance: StartedInstance, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  for (const [service, path] of Object.entries(instance.health)) {
    const port = instance.ports[service];
    if (port === undefined) continue;
    const version = instance.vector[service];
    await waitHealthy({ service, port, path, host: instance.host ?? '', ...(version !== undefined && { version }) }, timeoutMs, signal);
  }
}

/**
 * Instances as tasks of swarm services, one service per release (the environment's own service for
 * the release it runs, `…-r<release>` for a second one). Starting one scales the release's service
 * up by one (creating it with one replica) and waits for a task bake has not routed yet to serve,
 * healthy at its versions (the engine's health check first, then bake's from this host). Removing
 * one leaves the task idle until the router routes none of its service, then removes the service:
 * the engine cannot be told which task to stop, and scaling down might stop one still serving.
 */
export function swarmInstances(ctx: SwarmInstancesContext): InstanceProvider {
  const claimed = new Set<string>();
  return {
    async start(target, options) {
      if (!target.reference) throw new BakeError(`release ${target.release} has no registry reference to run on the swarm`);
      const services = await environmentServices(ctx);
      let service = services.find((s) => s.labels[Label.release] === String(target.release));
      const routed = new Set((await ctx.router.state()).instances.map((i) => i.id));
      const idle = async () =>
        (await environmentTasks(ctx)).find((t) => t.service.id === service?.id && !routed.has(t.instance.id) && !claimed.has(t.instance.id))
          ?.instance;
      if (!service || !(await idle())) {
        const request = swarmRequest(
          { ...target, reference: target.reference, replicas: 1, batch: 1, ...spreadOf(ctx) },
          options.timeoutMs ?? 30_000,
        );
        if (service) {
          const spec = structuredClone(service.spec) as { Mode?: { Replicated?: { Replicas?: number } } };
          const replicas = (spec.Mode?.Replicated?.Replicas ?? 0) + 1;
          spec.Mode = { Replicated: { Replicas: replicas } };
          ctx.log(`scaling ${service.name} to ${replicas} tasks`);
          await ctx.swarm.updateService(service.id, service.version, spec);
        } else {
          const name = releaseServiceName(target);
          ctx.log(`creating ${name} beside the running release`);
          await ctx.swarm.createService(serviceSpec({ ...request, name }));
        }
      }
      const deadline = Date.now() + (options.timeoutMs ?? 30_000) + 30_000;
      for (;;) {
        service = (await environmentServices(ctx)).find((s) => s.labels[Label.release] === String(target.release));
        const found = service ? await idle() : undefined;
        if (found) {
          claimed.add(found.id);
          const { node, ...instance } = found;
          await healthy(instance, options.timeoutMs ?? 30_000, options.signal);
          ctx.log(`task ${instance.id} of release ${instance.release} serves from ${node} (${instance.host})`);
          return instance;
        }
        if (options.signal?.aborted) throw new BakeError(`stopped waiting for a task of release ${target.release}: interrupted`);
        if (Date.now() > deadline) throw new BakeError(`no new task of release ${target.release} served on the swarm in time`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async remove(instance: Pick<Instance, 'id' | 'release'>) {
      const tasks = await environmentTasks(ctx);
      const owner =
        tasks.find((t) => t.instance.id === instance.id)?.service ??
        (await environmentServices(ctx)).find((s) => s.labels[Label.release] === String(instance.release));
      if (!owner) return;
      const routed = new Set((await ctx.router.state()).instances.map((i) => i.id));
      if (tasks.some((t) => t.service.id === owner.id && routed.has(t.instance.id))) return;
      ctx.log(`removing ${owner.name}: the router sends none of its tasks requests`);
      await ctx.swarm.removeService(owner.id);
    },
  };
}

function spreadOf(ctx: SwarmInstancesContext): { spread?: string; network?: string } {
  return { ...(ctx.spread !== undefined && { spread: ctx.spread }), ...(ctx.network !== undefined && { network: ctx.network }) };
}
