import { configuredBlobRegistry } from '../blobs/blob-registry-config.js';
import { workspacePaths } from '../config/workspace-paths.js';
import { type LayoutStore, openLayoutStore } from '../oci/layout-store.js';

/**
 * Where uploads are shared between replicas: the workspace's store when a blob registry backs it
 * (BAKE_BLOB_REGISTRY, or bake.yaml `blobs.registry`), else undefined (each replica keeps its own
 * uploads, and a client re-uploads to the replica that lacks one). An upload is a tar whose
 * digest the client named, so it is stored as one more blob: every replica can fetch it by that
 * digest, and it is verified again when fetched. Throws InputError for a malformed registry.
 */
export async function sharedUploadStore(workspace: string, env: NodeJS.ProcessEnv): Promise<LayoutStore | undefined> {
  const dir = workspacePaths(workspace).store;
  if (!(await configuredBlobRegistry(dir, env))) return undefined;
  return openLayoutStore(dir, { env });
}
