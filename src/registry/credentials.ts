import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages (never the values). */
  from: 'environment' | 'docker-config';
}

/**
 * Credentials for one registry host (`host[:port]`, as in `127.0.0.1:5000/shop`), scoped so they
 * only ever go to the host they are for: BAKE_REGISTRY_USERNAME/BAKE_REGISTRY_PASSWORD apply to
 * the one host the operator names in BAKE_REGISTRY_HOST, and to no other (127.0.0.1 and localhost
 * are different hosts); an entry of the Docker config file ($DOCKER_CONFIG/config.json or
 * ~/.docker/config.json, `auths`) applies to its own host. Undefined when none apply. Throws
 * InputError when the environment holds credentials but names no host for them.
 */
export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const username = env['BAKE_REGISTRY_USERNAME'];
  const password = env['BAKE_REGISTRY_PASSWORD'];
  if (username && password !== undefined) {
    const host = registryHost(env['BAKE_REGISTRY_HOST'] ?? '');
    if (host === '') {
      throw new InputError([
        {
          file: 'environment',
          field: 'BAKE_REGISTRY_HOST',
          message: 'BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD are set, but not the registry host they are for',
          fix: `set BAKE_REGISTRY_HOST to the registry they belong to, e.g. BAKE_REGISTRY_HOST=${registry}; they are sent to that host only`,
        },
      ]);
    }
    if (host === registryHost(registry)) return { username, password, from: 'environment' };
  }
  return dockerConfigCredentials(registry, env);
}

/** `https://Registry.example:5000/v1/` → `registry.example:5000`: how hosts are compared. */
export function registryHost(value: string): string {
  return value
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

async function dockerConfigCredentials(registry: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const file = join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const wanted = registryHost(registry);
  const entry = Object.entries(config.auths ?? {}).find(([key]) => registryHost(key) === wanted)?.[1];
  if (!entry) return undefined;
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password, from: 'docker-config' };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from: 'docker-config' };
  }
  return undefined;
}
