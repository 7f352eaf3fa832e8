import { request } from 'node:http';
import { BakeError } from '../util/errors.js';
import type { Instance, Routes } from './route-table.js';

export interface RouterState {
  instances: Instance[];
  routes: Routes;
  toggles: Record<string, boolean>;
  listeners: Record<string, number>;
}

/** The deploy step's handle on an environment's router (its control API on 127.0.0.1). */
export interface RouterClient {
  state(): Promise<RouterState>;
  add(instance: Omit<Instance, 'inflight' | 'healthy' | 'draining'>): Promise<void>;
  drain(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  setRoutes(routes: Routes): Promise<void>;
  setToggle(name: string, on: boolean): Promise<void>;
}

export function routerClient(controlPort: number): RouterClient {
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request({ host: '127.0.0.1', port: controlPort, method, path, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 300) return reject(new BakeError(`router control ${method} ${path}: ${text}`));
          resolve(text ? JSON.parse(text) : {});
        });
      });
      req.on('error', (error) => reject(new BakeError(`the router's control API on 127.0.0.1:${controlPort} does not answer (${error.message})`, { cause: error })));
      req.end(payload);
    });
  return {
    state: async () => (await call('GET', '/state')) as RouterState,
    add: async (instance) => void (await call('POST', '/instances', instance)),
    drain: async (id) => void (await call('POST', `/instances/${encodeURIComponent(id)}/drain`, {})),
    remove: async (id) => void (await call('DELETE', `/instances/${encodeURIComponent(id)}`)),
    setRoutes: async (routes) => void (await call('PUT', '/routes', routes)),
    setToggle: async (name, on) => void (await call('PUT', `/toggles/${encodeURIComponent(name)}`, { on })),
  };
}
