import { InputError } from '../util/errors.js';

/** A repository in a registry: `127.0.0.1:5000/shop` → registry `127.0.0.1:5000`, name `shop`. */
export interface Repository {
  registry: string;
  name: string;
  /** http for loopback registries (as Docker treats them), https otherwise unless BAKE_REGISTRY_INSECURE. */
  baseUrl: string;
}

/** Parses `REGISTRY/REPO`. Throws InputError naming the flag when it is not one. */
export function parseRepository(value: string, env: NodeJS.ProcessEnv = process.env): Repository {
  const slash = value.indexOf('/');
  const registry = slash > 0 ? value.slice(0, slash) : '';
  const name = slash > 0 ? value.slice(slash + 1) : '';
  if (!registry || !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(name) || !/[.:]|^localhost$/.test(registry)) {
    throw new InputError([
      {
        file: 'command line',
        field: '--push',
        message: `${JSON.stringify(value)} is not REGISTRY/REPOSITORY`,
        fix: 'name the registry host (with its port) and a lower-case repository, e.g. 127.0.0.1:5000/shop',
      },
    ]);
  }
  const host = registry.replace(/:\d+$/, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '[::1]';
  const insecure = loopback || (env['BAKE_REGISTRY_INSECURE'] ?? '').split(',').includes(registry);
  return { registry, name, baseUrl: `${insecure ? 'http' : 'https'}://${registry}` };
}
