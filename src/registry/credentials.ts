import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Credentials for a registry: BAKE_REGISTRY_USERNAME/BAKE_REGISTRY_PASSWORD, else the Docker
 * config file ($DOCKER_CONFIG/config.json or ~/.docker/config.json, `auths`). They are only ever
 * sent to the registry or its token service: never logged, never baked into an image.
 */
export async function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const username = env['BAKE_REGISTRY_USERNAME'];
  const password = env['BAKE_REGISTRY_PASSWORD'];
  if (username && password !== undefined) return { username, password };
  const file = join(env['DOCKER_CONFIG'] ?? join(homedir(), '.docker'), 'config.json');
  let config: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    config = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = config.auths?.[registry] ?? config.auths?.[`http://${registry}`] ?? config.auths?.[`https://${registry}`];
  if (!entry) return undefined;
  if (entry.username && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}
