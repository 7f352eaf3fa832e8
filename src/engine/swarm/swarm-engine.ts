import { labelFilters, openDocker } from '../docker-engine.js';
import { EngineError } from '../errors.js';

/**
 * A Docker Swarm manager, through the same dockerode connection (and error classification) as
 * the local engine. Small on purpose: what bake deploys is a service, what it reports are tasks
 * and the nodes they run on. Another cluster engine (Kubernetes) would be another implementation
 * of the same few verbs, see docs/kubernetes-adapter.md.
 */

export interface SwarmNode {
  id: string;
  /** The node's hostname: what reports name. */
  name: string;
  /** The address the node advertises, where its host-mode ports answer. */
  address: string;
  labels: Record<string, string>;
  /** ready, down, unknown, disconnected */
  state: string;
  /** active, pause, drain */
  availability: string;
}

export interface SwarmTask {
  id: string;
  slot?: number;
  nodeId?: string;
  /** new … preparing, starting, running, complete, shutdown, failed, rejected, orphaned */
  state: string;
  desiredState: string;
  message: string;
  /** The engine's error for a task that failed or was rejected (a pull that failed names it). */
  error?: string;
  image: string;
  /** The container labels of the task's spec (bake puts the release there). */
  labels: Record<string, string>;
  /** Container port → port published on the task's node (host mode). */
  ports: Record<number, number>;
  /** When the task's state last changed (ISO). */
  at: string;
  /** Network name → the task's address on it (no prefix length): how a peer on an overlay reaches it. */
  addresses: Record<string, string>;
}

export interface SwarmService {
  id: string;
  name: string;
  /** The spec's version: an update names it, so two updates never overwrite each other. */
  version: number;
  labels: Record<string, string>;
  image: string;
  replicas: number;
  /** The engine's rolling-update state: updating, paused, completed, rollback_started, rollback_paused, rollback_completed. */
  update?: { state: string; message: string };
  spec: Record<string, unknown>;
}

export interface SwarmEngine {
  readonly address: string;
  /** Throws EngineUnavailableError when nothing answers, EngineError when it is no swarm manager. */
  ping(): Promise<void>;
  nodes(): Promise<SwarmNode[]>;
  service(name: string): Promise<SwarmService | undefined>;
  listServices(labels: Record<string, string>): Promise<SwarmService[]>;
  createService(spec: Record<string, unknown>): Promise<string>;
  /** Replaces the spec of a service at `version` (EngineError 409/500 when it moved meanwhile). */
  updateService(id: string, version: number, spec: Record<string, unknown>): Promise<void>;
  /** The engine's own rollback to the previous spec. */
  rollbackService(id: string, version: number): Promise<void>;
  removeService(id: string): Promise<void>;
  tasks(service: string): Promise<SwarmTask[]>;
  /** Creates an attachable overlay network (dnsrr services join it) unless one of that name exists. */
  ensureOverlay(name: string, labels: Record<string, string>): Promise<void>;
  /** Removes a network; one that is gone already is no error. */
  removeNetwork(name: string): Promise<void>;
}

/** The engine's JSON as it arrives: read defensively, field by field, into the types above. */
// biome-ignore lint/suspicious/noExplicitAny: the engine's documents are read with optional chaining and defaults, never trusted as typed.
type Raw = Record<string, any>;

/** A swarm manager at a DOCKER_HOST-style address (unix:///… or tcp://…). */
export async function createSwarmEngine(host: string): Promise<SwarmEngine> {
  const { docker, address, call } = await openDocker(host);
  const toService = (raw: Raw): SwarmService => ({
    id: raw.ID,
    name: raw.Spec?.Name ?? '',
    version: raw.Version?.Index ?? 0,
    labels: raw.Spec?.Labels ?? {},
    image: raw.Spec?.TaskTemplate?.ContainerSpec?.Image ?? '',
    replicas: raw.Spec?.Mode?.Replicated?.Replicas ?? 0,
    ...(raw.UpdateStatus && { update: { state: raw.UpdateStatus.State ?? '', message: raw.UpdateStatus.Message ?? '' } }),
    spec: raw.Spec ?? {},
  });
  return {
    address,
    async ping() {
      const info = (await call('info', () => docker.info())) as Raw;
      if (info.Swarm?.ControlAvailable !== true) {
        throw new EngineError(
          `the engine at ${address} is not a swarm manager (swarm: ${info.Swarm?.LocalNodeState ?? 'unknown'}); run docker swarm init there, or name the manager`,
          undefined,
        );
      }
    },
    async nodes() {
      const nodes = (await call('list nodes', () => docker.listNodes())) as Raw[];
      return nodes.map((n) => ({
        id: n.ID,
        name: n.Description?.Hostname ?? n.ID,
        address: n.Status?.Addr ?? '',
        labels: n.Spec?.Labels ?? {},
        state: n.Status?.State ?? 'unknown',
        availability: n.Spec?.Availability ?? 'active',
      }));
    },
    async service(name) {
      try {
        return toService((await docker.getService(name).inspect()) as Raw);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        return call(`inspect service ${name}`, () => Promise.reject(error));
      }
    },
    async listServices(labels) {
      const list = (await call('list services', () => docker.listServices({ filters: { label: labelFilters(labels) } }))) as Raw[];
      return list.map(toService);
    },
    async createService(spec) {
      const created = (await call(`create service ${String(spec['Name'])}`, () => docker.createService(spec as never))) as Raw;
      return created.ID ?? created.id;
    },
    async updateService(id, version, spec) {
      await call(`update service ${id}`, () => docker.getService(id).update({ _query: { version }, _body: spec } as never));
    },
    async rollbackService(id, version) {
      const current = (await call(`inspect service ${id}`, () => docker.getService(id).inspect())) as Raw;
      await call(`roll back service ${id}`, () =>
        docker.getService(id).update({ _query: { version, rollback: 'previous' }, _body: current.Spec } as never),
      );
    },
    async removeService(id) {
      await call(`remove service ${id}`, () => docker.getService(id).remove()).catch((error: unknown) => {
        if ((error as EngineError).statusCode !== 404) throw error;
      });
    },
    async tasks(service) {
      const list = (await call(`tasks of ${service}`, () => docker.listTasks({ filters: { service: [service] } }))) as Raw[];
      return list.map(taskFromEngine);
    },
    async ensureOverlay(name, labels) {
      const found = (await call('list networks', () => docker.listNetworks({ filters: { name: [name] } }))) as Raw[];
      if (found.some((n) => n.Name === name)) return;
      await call(`create network ${name}`, () =>
        docker.createNetwork({ Name: name, Driver: 'overlay', Attachable: true, CheckDuplicate: true, Labels: labels }),
      );
    },
    async removeNetwork(name) {
      await call(`remove network ${name}`, () => docker.getNetwork(name).remove()).catch((error: unknown) => {
        if ((error as EngineError).statusCode !== 404) throw error;
      });
    },
  };
}

/**
 * A task as the engine reports it. A host-mode port is published once per address family, IPv4
 * first; the two usually share a host port, but a node's dockerd may give them different ones
 * (seen on a node restarted with its data root: 8080 → 32780 and 32779, the second IPv6-only while
 * IPv4's 32779 was another port's). bake reaches nodes over IPv4, so the first binding counts.
 */
export function taskFromEngine(raw: Raw): SwarmTask {
  const ports: Record<number, number> = {};
  for (const p of raw.Status?.PortStatus?.Ports ?? []) if (p.PublishedPort) ports[p.TargetPort] ??= p.PublishedPort;
  const addresses: Record<string, string> = {};
  for (const a of raw.NetworksAttachments ?? []) {
    const address = String(a.Addresses?.[0] ?? '').split('/')[0];
    if (a.Network?.Spec?.Name && address) addresses[a.Network.Spec.Name] = address;
  }
  return {
    id: raw.ID,
    ...(raw.Slot !== undefined && { slot: raw.Slot }),
    ...(raw.NodeID && { nodeId: raw.NodeID }),
    state: raw.Status?.State ?? 'unknown',
    desiredState: raw.DesiredState ?? 'unknown',
    message: raw.Status?.Message ?? '',
    ...(raw.Status?.Err && { error: raw.Status.Err }),
    image: raw.Spec?.ContainerSpec?.Image ?? '',
    labels: raw.Spec?.ContainerSpec?.Labels ?? {},
    ports,
    at: raw.Status?.Timestamp ?? raw.UpdatedAt ?? '',
    addresses,
  };
}
