import { basename, dirname, join } from 'node:path';
import { readLimitedText } from '../config/yaml-limits.js';
import { parseYaml } from '../config/yaml-document.js';
import { nodeAt, stringAt } from '../config/yaml-node.js';
import { parseRepository, type Repository } from '../registry/reference.js';
import { InputError, type Problem } from '../util/errors.js';
import { statNow } from '../util/stat-now.js';

/** The environment variable that names the blob registry; it wins over bake.yaml's `blobs.registry`. */
export const BLOB_REGISTRY_VARIABLE = 'BAKE_BLOB_REGISTRY';

/**
 * The blob registry behind a workspace's store, if one is configured: BAKE_BLOB_REGISTRY, else
 * bake.yaml's `blobs: {registry: HOST:PORT/REPO}`. Only a workspace's own store
 * (`<workspace>/.bake/store`) has one; any other layout (a recipe's `base: {oci: …}`) is a local
 * directory and nothing else. Undefined when none is named: the local layout alone, as always.
 * Throws InputError when the value is not REGISTRY/REPOSITORY (loadWorkspace reports bake.yaml's
 * first, with its position).
 */
export async function configuredBlobRegistry(storeDir: string, env: NodeJS.ProcessEnv): Promise<Repository | undefined> {
  if (basename(storeDir) !== 'store' || basename(dirname(storeDir)) !== '.bake') return undefined;
  const fromEnv = env[BLOB_REGISTRY_VARIABLE]?.trim();
  if (fromEnv) return blobRepository(fromEnv, { file: 'environment', field: BLOB_REGISTRY_VARIABLE }, env);
  const declared = await declaredRegistry(join(dirname(dirname(storeDir)), 'bake.yaml'));
  return declared === undefined ? undefined : blobRepository(declared, { file: 'bake.yaml', field: 'blobs.registry' }, env);
}

function blobRepository(value: string, where: Pick<Problem, 'file' | 'field'>, env: NodeJS.ProcessEnv): Repository {
  try {
    return parseRepository(value, env);
  } catch (error) {
    throw new InputError(
      [
        {
          ...where,
          message: `${JSON.stringify(value)} is not REGISTRY/REPOSITORY`,
          fix: 'name the registry host with its port and a lower-case repository for the blobs, e.g. 127.0.0.1:5000/bake-blobs',
        },
      ],
      { cause: error },
    );
  }
}

/** bake.yaml's `blobs.registry` by file identity, so a long-lived service parses it once per change. */
const declaredCache = new Map<string, { stamp: string; registry: string | undefined }>();

async function declaredRegistry(file: string): Promise<string | undefined> {
  const info = statNow(file);
  if (!info?.isFile()) return undefined;
  const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`;
  const cached = declaredCache.get(file);
  if (cached?.stamp === stamp) return cached.registry;
  const text = await readLimitedText(file, 'bake.yaml');
  // Most workspaces name no blob registry: they pay for a search, not for a second parse.
  const registry = /\bblobs\b/.test(text) ? stringAt(nodeAt(parseYaml(text, 'bake.yaml'), 'blobs', 'registry')) : undefined;
  declaredCache.set(file, { stamp, registry });
  return registry;
}
