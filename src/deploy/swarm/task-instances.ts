import { Label } from '../../engine/labels.js';
import type { SwarmNode, SwarmTask } from '../../engine/swarm/swarm-engine.js';
import type { Instance } from '../../router/route-table.js';

/**
 * What the engine's tasks mean to bake, as pure functions: the router instances they are, where
 * each runs (node, zone), and which nodes could not pull the image.
 */

export type TaskInstance = Omit<Instance, 'inflight' | 'healthy' | 'draining'> & { node: string };

/** A task the engine runs and means to keep running: the only ones the router may send requests to. */
export function isServing(task: SwarmTask): boolean {
  return task.state === 'running' && task.desiredState === 'running';
}

/** Router instances for the serving tasks: their node's address, the ports the engine published there. */
export function taskInstances(
  tasks: readonly SwarmTask[],
  nodes: readonly SwarmNode[],
  services: readonly { name: string; port?: number; health?: string }[],
): TaskInstance[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out: TaskInstance[] = [];
  for (const task of tasks) {
    const node = task.nodeId === undefined ? undefined : byId.get(task.nodeId);
    // A node that stopped answering the manager may be gone: its tasks get no new requests.
    if (!isServing(task) || !node?.address || node.state !== 'ready') continue;
    const ports: Record<string, number> = {};
    const health: Record<string, string> = {};
    for (const s of services) {
      const published = s.port === undefined ? undefined : task.ports[s.port];
      if (published !== undefined) ports[s.name] = published;
      if (s.health !== undefined) health[s.name] = s.health;
    }
    out.push({
      id: task.id.slice(0, 12),
      release: Number(task.labels[Label.release] ?? 0),
      vector: parseVector(task.labels[Label.vector]),
      ports,
      health,
      host: node.address,
      node: node.name,
    });
  }
  return out;
}

/** Where one task runs, as `bake status` shows it. */
export interface TaskPlacement {
  task: string;
  slot?: number;
  release: number;
  node: string;
  /** The node's value of the spread label (its zone), when the environment spreads. */
  zone?: string;
  state: string;
  desiredState: string;
  error?: string;
}

/** Every task that is or is meant to be running, with its node's name and zone. */
export function placements(tasks: readonly SwarmTask[], nodes: readonly SwarmNode[], spread?: string): TaskPlacement[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  return tasks
    .filter((t) => t.desiredState === 'running' || t.state === 'running')
    .map((t) => {
      const node = t.nodeId === undefined ? undefined : byId.get(t.nodeId);
      const zone = spread === undefined ? undefined : node?.labels[spread];
      return {
        task: t.id.slice(0, 12),
        ...(t.slot !== undefined && { slot: t.slot }),
        release: Number(t.labels[Label.release] ?? 0),
        node: node?.name ?? '(unassigned)',
        ...(zone !== undefined && { zone }),
        state: t.state,
        desiredState: t.desiredState,
        ...(t.error && { error: t.error }),
      };
    })
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || a.release - b.release);
}

/** A node whose engine could not pull the release's image, with the engine's own words. */
export interface PullFailure {
  node: string;
  image: string;
  error: string;
}

// The node agent's errors when an image cannot be had: no such manifest, unreachable or refusing registry.
const PULL_ERROR =
  /pull|no such image|manifest|not found|connection refused|no route to host|network is unreachable|i\/o timeout|https? response/i;

/** Tasks of `image` that failed or were rejected because their node could not pull it, one per node. */
export function pullFailures(tasks: readonly SwarmTask[], nodes: readonly SwarmNode[], image: string): PullFailure[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const seen = new Map<string, PullFailure>();
  for (const t of tasks) {
    if (t.image !== image || !['rejected', 'failed'].includes(t.state) || !t.error || !PULL_ERROR.test(t.error)) continue;
    const node = (t.nodeId === undefined ? undefined : byId.get(t.nodeId))?.name ?? t.nodeId ?? '(unassigned)';
    if (!seen.has(node)) seen.set(node, { node, image, error: t.error });
  }
  return [...seen.values()];
}

/** Nodes that are down (or not answering the manager) and run, or ran, a task of the service: named in reports. */
export function lostNodes(tasks: readonly SwarmTask[], nodes: readonly SwarmNode[]): string[] {
  const used = new Set(tasks.flatMap((t) => (t.nodeId === undefined ? [] : [t.nodeId])));
  return nodes.filter((n) => n.state !== 'ready' && used.has(n.id)).map((n) => n.name);
}

function parseVector(text: string | undefined): Record<string, number> {
  try {
    const parsed = JSON.parse(text ?? '{}') as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, number>) : {};
  } catch {
    return {};
  }
}
