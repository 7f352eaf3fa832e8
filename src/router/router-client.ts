import { BakeError } from '../util/errors.js';
import { httpRequest } from '../util/http-client.js';
import type { ReleaseFigures } from './release-stats.js';
import type { Instance, Routes } from './route-table.js';
import type { ToggleRule } from './toggle-requirements.js';

export interface RouterState {
  instances: Instance[];
  routes: Routes;
  toggles: Record<string, boolean>;
  /** Requirements and conflict policy of the toggles that have them (absent from older routers). */
  toggleRules?: Record<string, ToggleRule>;
  listeners: Record<string, number>;
  /** Service → preview listener port (blue/green preview). */
  previewListeners?: Record<string, number>;
}

/** The deploy step's handle on an environment's router (its control API on 127.0.0.1). */
export interface RouterClient {
  state(): Promise<RouterState>;
  add(instance: Omit<Instance, 'inflight' | 'healthy' | 'draining'>): Promise<void>;
  drain(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  setRoutes(routes: Routes): Promise<void>;
  setToggle(name: string, on: boolean, rule?: ToggleRule): Promise<void>;
  /** Changes what a registered instance runs (in-place upgrade) or whether it takes requests. */
  update(id: string, patch: Partial<Pick<Instance, 'release' | 'vector' | 'draining'>>): Promise<void>;
  /** Requests, errors and latency per release id since the last reset. */
  stats(): Promise<Record<string, ReleaseFigures>>;
  resetStats(): Promise<void>;
}

/** The control API answers at once; a router that does not within this long is stuck. */
const CONTROL_TIMEOUT_MS = 30_000;

/**
 * A client of the router whose control API listens on `host`:`controlPort` (127.0.0.1, or a
 * cluster node's address for a router replica inside a swarm). Methods throw BakeError.
 */
export function routerClient(controlPort: number, host = '127.0.0.1'): RouterClient {
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let response;
    try {
      response = await httpRequest(`http://${host}:${controlPort}${path}`, {
        method,
        ...(body !== undefined && { json: body }),
        timeoutMs: CONTROL_TIMEOUT_MS,
      });
    } catch (error) {
      throw new BakeError(`the router's control API on ${host}:${controlPort} does not answer (${(error as Error).message})`, {
        cause: error,
      });
    }
    const text = await response.text();
    if (response.status >= 300) throw new BakeError(`router control ${method} ${path}: ${text}`);
    return text ? JSON.parse(text) : {};
  };
  return {
    state: async () => (await call('GET', '/state')) as RouterState,
    add: async (instance) => void (await call('POST', '/instances', instance)),
    drain: async (id) => void (await call('POST', `/instances/${encodeURIComponent(id)}/drain`, {})),
    remove: async (id) => void (await call('DELETE', `/instances/${encodeURIComponent(id)}`)),
    setRoutes: async (routes) => void (await call('PUT', '/routes', routes)),
    setToggle: async (name, on, rule) => void (await call('PUT', `/toggles/${encodeURIComponent(name)}`, { on, ...(rule && { rule }) })),
    update: async (id, patch) => void (await call('PATCH', `/instances/${encodeURIComponent(id)}`, patch)),
    stats: async () => (await call('GET', '/stats')) as Record<string, ReleaseFigures>,
    resetStats: async () => void (await call('POST', '/stats/reset', {})),
  };
}
