import { Label } from '../../engine/labels.js';
import { serviceSpec, type SwarmServiceRequest } from '../../engine/swarm/service-spec.js';
import type { SwarmEngine, SwarmNode, SwarmService, SwarmTask } from '../../engine/swarm/swarm-engine.js';
import type { VersionVector } from '../../manifest/model.js';
import type { Digest } from '../../util/digest.js';
import { BakeError } from '../../util/errors.js';
import { waitHealthy } from '../health.js';
import type { DeployRouter } from '../operations.js';
import type { Step } from '../steps.js';
import { isServing, lostNodes, pullFailures, taskInstances, type PullFailure } from './task-instances.js';

/** A release as a swarm deploy needs it: plain data, the image by digest in the environment's registry. */
export interface SwarmTarget {
  scope: string;
  env: string;
  image: string;
  release: number;
  digest: Digest;
  /** `registry/repo@sha256:…`, pushed before the deploy. */
  reference: string;
  vector: VersionVector;
  services: { name: string; port?: number; health?: string }[];
  replicas: number;
  batch: number;
  spread?: string;
  /** The overlay network an in-cluster router reaches the tasks over (absent: the router on the host). */
  network?: string;
}

export interface SwarmDeployContext {
  swarm: SwarmEngine;
  router: DeployRouter;
  target: SwarmTarget;
  healthTimeoutMs: number;
  signal?: AbortSignal;
  log(line: string): void;
  /** The swarm service to roll (the one the environment runs now); default swarmServiceName(target). */
  service?: string;
  /** Nodes that went down while this change ran (filled as they are seen): the release record names them. */
  lost?: Set<string>;
}

/** The engine's rolling update stopped or was rolled back: names the nodes that could not pull, if any. */
export class SwarmUpdateFailedError extends BakeError {
  override name = 'SwarmUpdateFailedError';
  override readonly kind: string = 'swarm-update-failed';
  constructor(
    message: string,
    readonly service: string,
    readonly state: string,
    readonly pullFailures: PullFailure[],
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { service: this.service, state: this.state, pullFailures: this.pullFailures };
  }
}

/** The swarm service of an environment's image in one workspace (names: letters, digits, dashes, at most 63). */
export function swarmServiceName(target: Pick<SwarmTarget, 'scope' | 'env' | 'image'>): string {
  return `bake-${target.env}-${target.image}-${target.scope}`.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63);
}

/** Labels on the service and every task: found again by scope and environment, traced to a release. */
export function swarmLabels(target: SwarmTarget): Record<string, string> {
  return {
    [Label.scope]: target.scope,
    [Label.env]: target.env,
    [Label.image]: target.image,
    [Label.digest]: target.digest,
    [Label.release]: String(target.release),
    [Label.vector]: JSON.stringify(target.vector),
  };
}

/** What the engine is asked to run for a release. */
export function swarmRequest(target: SwarmTarget, healthTimeoutMs: number, name = swarmServiceName(target)): SwarmServiceRequest {
  return {
    name,
    image: target.reference,
    labels: swarmLabels(target),
    replicas: target.replicas,
    ports: target.services.flatMap((s) => (s.port === undefined ? [] : [s.port])),
    checks: target.services.flatMap((s) =>
      s.port === undefined || s.health === undefined
        ? []
        : [{ port: s.port, path: s.health, ...(target.vector[s.name] !== undefined && { version: target.vector[s.name] }) }],
    ),
    update: { parallelism: target.batch, monitorMs: 2000, delayMs: 0 },
    ...(target.spread !== undefined && { spread: target.spread }),
    ...(target.network !== undefined && { networks: [target.network] }),
    startPeriodMs: healthTimeoutMs,
  };
}

/**
 * Makes the router's instances the tasks the engine serves now: new ones join once bake itself has
 * seen them healthy at the version they should run (from this host, at the node's address); gone
 * ones are drained and removed. A request to a task that died before this noticed is refused and
 * the router retries it elsewhere.
 */
export async function syncRouter(ctx: SwarmDeployContext): Promise<void> {
  const name = ctx.service ?? swarmServiceName(ctx.target);
  const [tasks, nodes, state] = await Promise.all([ctx.swarm.tasks(name), ctx.swarm.nodes(), ctx.router.state()]);
  const wanted = taskInstances(tasks, nodes, ctx.target.services);
  const known = new Set(state.instances.map((i) => i.id));
  const keep = new Set(wanted.map((i) => i.id));
  for (const instance of wanted) {
    if (known.has(instance.id)) continue;
    const healthy = await Promise.all(
      Object.entries(instance.health).map(async ([service, path]) => {
        const port = instance.ports[service];
        if (port === undefined) return true;
        const version = instance.vector[service];
        return waitHealthy({ service, port, path, host: instance.host ?? '', ...(version !== undefined && { version }) }, 3000).then(
          () => true,
          () => false,
        );
      }),
    );
    if (!healthy.every(Boolean)) continue;
    const { node, ...routed } = instance;
    await ctx.router.add(routed);
    ctx.log(`task ${instance.id} of release ${instance.release} serves from ${node} (${instance.host})`);
  }
  for (const gone of state.instances.filter((i) => !keep.has(i.id))) {
    await ctx.router.drain(gone.id);
    await ctx.router.remove(gone.id);
  }
}

/**
 * Waits for the engine's rolling update (or a new service) to converge on `reference`, keeping the
 * router in step with the tasks as they come and go. Throws SwarmUpdateFailedError when the engine
 * pauses or rolls the update back (a task failed its health check, a node could not pull: named),
 * BakeError after `deadlineMs`.
 */
export async function waitForRollout(ctx: SwarmDeployContext, reference: string, deadlineMs: number): Promise<void> {
  const name = ctx.service ?? swarmServiceName(ctx.target);
  const deadline = Date.now() + deadlineMs;
  const quiet = new Set<string>();
  for (;;) {
    await syncRouter(ctx);
    const [service, tasks, nodes] = await Promise.all([ctx.swarm.service(name), ctx.swarm.tasks(name), ctx.swarm.nodes()]);
    if (!service) throw new BakeError(`swarm service ${name} vanished during the rollout`);
    const failures = pullFailures(tasks, nodes, reference);
    const before = ctx.lost?.size ?? 0;
    const lost = noteLost(ctx, tasks, nodes);
    const state = service.update?.state;
    if ((ctx.lost?.size ?? 0) > before && state === 'updating') await restartUpdate(ctx, service);
    if (state !== undefined && /^(paused|rollback_)/.test(state)) {
      const pulls = failures.map((f) => `node ${f.node} cannot pull ${f.image}: ${f.error}`).join('; ');
      throw new SwarmUpdateFailedError(
        `the swarm ${state.startsWith('rollback') ? 'rolled back' : 'paused'} the update of ${name} (${service.update?.message ?? state})${pulls ? `: ${pulls}` : ''}${lost}`,
        name,
        state,
        failures,
      );
    }
    const ready = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.id));
    const serving = tasks.filter((t) => isServing(t) && ready.has(t.nodeId ?? ''));
    const release = String(ctx.target.release);
    const ours = (t: (typeof tasks)[number]) => t.image === reference && t.labels[Label.release] === release;
    // An old task told to stop has not stopped while its node still reports it running: a node
    // that died holding one never reports again, and waiting here until the engine marks it down
    // is what lets the record name it.
    const stopping = tasks.filter((t) => !ours(t) && t.state === 'running' && t.desiredState !== 'running' && ready.has(t.nodeId ?? ''));
    const done = serving.filter(ours).length >= ctx.target.replicas && serving.every(ours) && stopping.length === 0;
    if (serving.filter(ours).length >= ctx.target.replicas && stopping.length > 0) {
      const names = stopping
        .map((t) => `task ${t.id.slice(0, 12)} (${t.state}, desired ${t.desiredState}) on ${nodeName(nodes, t.nodeId)}`)
        .join(', ');
      if (!quiet.has(names)) ctx.log(`waiting for old tasks to stop: ${names}`);
      quiet.add(names);
    }
    if (done && (state === undefined || state === 'completed')) {
      // The engine learns of a dead node only after its heartbeats stop: bake asks every task itself
      // first, and waits for the engine to notice (and reschedule) a task that does not answer.
      const silent = await silentTasks(ctx, serving, nodes);
      if (silent.length === 0) {
        await syncRouter(ctx);
        return;
      }
      if (!quiet.has(silent.join())) ctx.log(`no answer from ${silent.join(', ')}: waiting for the engine to notice`);
      quiet.add(silent.join());
    }
    if (ctx.signal?.aborted) throw new BakeError(`stopped waiting for the swarm update of ${name}: interrupted`);
    if (Date.now() > deadline) {
      const pulls = failures.map((f) => `node ${f.node} cannot pull ${f.image}: ${f.error}`).join('; ');
      throw new BakeError(`the swarm update of ${name} did not converge in ${deadlineMs} ms${pulls ? `: ${pulls}` : ''}${lost}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The engine's updater waits for the new task it placed on a node that then died, forever (the
 * task never reports again), and leaves the old task of that slot running beside its replacement.
 * Submitting the spec again with ForceUpdate bumped starts a fresh update over the remaining
 * nodes, which replaces every slot (each old task with it) and converges.
 */
async function restartUpdate(ctx: SwarmDeployContext, service: SwarmService): Promise<void> {
  const spec = structuredClone(service.spec) as { TaskTemplate?: { ForceUpdate?: number } };
  spec.TaskTemplate = { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate?.ForceUpdate ?? 0) + 1 };
  ctx.log(`restarting the engine's update of ${service.name} over the remaining nodes (its updater waits on the lost node)`);
  await ctx.swarm.updateService(service.id, service.version, spec);
}

/** The serving tasks (as `task T on node N`) whose health paths do not answer bake within a second. */
async function silentTasks(ctx: SwarmDeployContext, serving: SwarmTask[], nodes: SwarmNode[]): Promise<string[]> {
  const instances = taskInstances(serving, nodes, ctx.target.services);
  const answers = await Promise.all(
    instances.map(async (i) => {
      for (const [service, path] of Object.entries(i.health)) {
        const port = i.ports[service];
        if (port === undefined) continue;
        const ok = await waitHealthy({ service, port, path, host: i.host ?? '' }, 1000).then(
          () => true,
          () => false,
        );
        if (!ok) return `task ${i.id} on node ${i.node}`;
      }
      return undefined;
    }),
  );
  return answers.filter((a): a is string => a !== undefined);
}

/** Records (and logs once) the nodes that went down under the service; returns them as a clause for messages. */
function noteLost(ctx: SwarmDeployContext, tasks: Parameters<typeof lostNodes>[0], nodes: Parameters<typeof lostNodes>[1]): string {
  const lost = lostNodes(tasks, nodes);
  for (const node of lost) {
    if (ctx.lost?.has(node)) continue;
    ctx.lost?.add(node);
    ctx.log(`node ${node} is down: the engine reschedules its tasks on the other nodes, the router no longer sends it requests`);
  }
  const all = [...(ctx.lost ?? lost)];
  return all.length === 0 ? '' : `; node ${all.join(', node ')} went down during the rollout`;
}

/**
 * The rolling deploy on a swarm, as steps with undo: the engine replaces `batch` tasks at a time,
 * start-first, each gated by its health check, rolling back by itself when one fails; bake waits,
 * keeps its router in step, and undoes with the engine's own rollback (or removes a service it
 * created) when anything after the update fails.
 */
export function swarmRollingSteps(ctx: SwarmDeployContext): Step[] {
  const request = swarmRequest(ctx.target, ctx.healthTimeoutMs, ctx.service);
  const batches = Math.ceil(ctx.target.replicas / Math.max(1, ctx.target.batch));
  const deadlineMs = (ctx.healthTimeoutMs + 5000) * (batches + 1) + 30_000;
  let before: SwarmService | undefined;
  let created = false;
  return [
    {
      name: `update swarm service ${request.name} to ${ctx.target.reference}`,
      async run() {
        before = await ctx.swarm.service(request.name);
        if (before) {
          ctx.log(`rolling ${request.name}: ${ctx.target.batch} at a time, start-first, health-gated, rollback on failure`);
          await ctx.swarm.updateService(before.id, before.version, serviceSpec(request));
        } else {
          ctx.log(`creating ${request.name} with ${ctx.target.replicas} replicas`);
          await ctx.swarm.createService(serviceSpec(request));
          created = true;
        }
      },
      async undo() {
        const { signal: _ignored, ...steady } = ctx;
        const now = await ctx.swarm.service(request.name);
        if (!now) return;
        if (created) {
          await ctx.swarm.removeService(now.id);
          await syncRouter(steady);
          return;
        }
        if (!before) return;
        // The engine may already have rolled back by itself (failure_action rollback).
        if ((ctx.lost?.size ?? 0) > 0 && now.image === ctx.target.reference) {
          // The update was restarted over the remaining nodes: the engine's "previous" spec is our own now.
          const spec = structuredClone(before.spec) as { TaskTemplate?: { ForceUpdate?: number } };
          spec.TaskTemplate = { ...spec.TaskTemplate, ForceUpdate: ((now.spec as typeof spec).TaskTemplate?.ForceUpdate ?? 0) + 1 };
          await ctx.swarm.updateService(now.id, now.version, spec);
        } else if (now.image === ctx.target.reference && !now.update?.state.startsWith('rollback')) {
          await ctx.swarm.rollbackService(now.id, now.version);
        }
        await waitForRollback(steady, before.labels[Label.release] ?? '', deadlineMs);
      },
    },
    {
      // Its own step, so a failed or rolled-back update is undone by the step above: bake waits for the engine's rollback.
      name: `wait for the engine to roll ${request.name} out, ${ctx.target.batch} at a time`,
      run: () => waitForRollout(ctx, ctx.target.reference, deadlineMs),
    },
  ];
}

/** Waits until every serving task is of `release` again (the engine's rollback converged). */
async function waitForRollback(ctx: SwarmDeployContext, release: string, deadlineMs: number): Promise<void> {
  const name = ctx.service ?? swarmServiceName(ctx.target);
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    await syncRouter(ctx);
    const service = await ctx.swarm.service(name);
    const [tasks, nodes] = await Promise.all([ctx.swarm.tasks(name), ctx.swarm.nodes()]);
    noteLost(ctx, tasks, nodes);
    const ready = new Set(nodes.filter((n) => n.state === 'ready').map((n) => n.id));
    const serving = tasks.filter((t) => isServing(t) && ready.has(t.nodeId ?? ''));
    const state = service?.update?.state ?? 'completed';
    if (!/^(updating|rollback_started)$/.test(state) && serving.length > 0 && serving.every((t) => t.labels[Label.release] === release))
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new BakeError(`the swarm rollback of ${name} to release ${release} did not converge in ${deadlineMs} ms`);
}

function nodeName(nodes: readonly SwarmNode[], id: string | undefined): string {
  return nodes.find((n) => n.id === id)?.name ?? id ?? 'no node';
}
