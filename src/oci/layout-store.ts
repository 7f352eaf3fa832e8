import { configuredBlobRegistry } from '../blobs/blob-registry-config.js';
import type { LayoutStore } from './layout-store-contract.js';
import { openLocalLayout } from './local-layout.js';

export type { LayoutStore } from './layout-store-contract.js';
export { openLocalLayout } from './local-layout.js';

/**
 * Opens (creating if needed) the OCI layout at `dir`: the one place a store is made. A workspace's
 * store (`<workspace>/.bake/store`) whose workspace names a blob registry (BAKE_BLOB_REGISTRY, else
 * bake.yaml `blobs.registry`) is backed by it (registry-backed-store.ts): every blob put reaches
 * the registry before the put returns, and a blob missing here is fetched from it. Otherwise, and
 * for every other layout, the local layout alone, as before. `env` (default: this process's) is
 * read for the registry and its credentials. Throws InputError (a malformed registry), StoreError.
 */
export async function openLayoutStore(dir: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<LayoutStore> {
  const env = options.env ?? process.env;
  const registry = await configuredBlobRegistry(dir, env);
  const local = await openLocalLayout(dir);
  if (!registry) return local;
  // Loaded only when a registry is named: the HTTP(S) client costs every other command ~5 ms.
  const [{ registryBackedStore }, { createBlobMirror }] = await Promise.all([
    import('../blobs/registry-backed-store.js'),
    import('../blobs/blob-mirror.js'),
  ]);
  return registryBackedStore(local, createBlobMirror(registry, env));
}
