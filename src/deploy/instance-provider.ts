import type { Instance } from '../router/route-table.js';
import type { BlobSource } from './blob-source.js';
import type { DeployTarget } from './deploy-plan.js';
import { startInstance, type DeployEngine } from './instance.js';

/** An instance as a provider starts it: what the router is told (it adds health, draining and counts). */
export type StartedInstance = Omit<Instance, 'inflight' | 'healthy' | 'draining'>;

/**
 * Where the strategies' instances come from: containers on the local engine (the default), or
 * tasks of a swarm service (src/deploy/swarm/task-provider.ts). The strategy steps (start, retire,
 * route, and their undos) are the same on both; only these two verbs differ.
 */
export interface InstanceProvider {
  /** Starts one instance of `target` and resolves once it is healthy at its versions. Throws EngineError, HealthError. */
  start(target: DeployTarget, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<StartedInstance>;
  /** Removes an instance the router no longer sends requests to (drained and removed there first). */
  remove(instance: Pick<Instance, 'id' | 'release'>): Promise<void>;
}

/** Containers on the local engine: one per instance, published on 127.0.0.1. */
export function containerInstances(engine: DeployEngine, blobs: BlobSource): InstanceProvider {
  return {
    async start(target, options) {
      const info = await startInstance(engine, target, blobs, options);
      const ports: Record<string, number> = {};
      const health: Record<string, string> = {};
      for (const service of target.services) {
        const hostPort = service.port === undefined ? undefined : info.ports[service.port];
        if (hostPort !== undefined) ports[service.name] = hostPort;
        if (service.health !== undefined) health[service.name] = service.health;
      }
      return { id: info.id.slice(0, 12), release: target.release, vector: target.vector, ports, health };
    },
    remove: (instance) => engine.removeContainer(instance.id),
  };
}
