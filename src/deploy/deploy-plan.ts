/** Everything the deploy step needs, as plain data: digests and versions, never a recipe. */
export interface DeployTarget {
  /** Identifies the workspace, so two workspaces' environments on one engine never mix. */
  scope: string;
  env: string;
  image: string;
  release: number;
  /** The OCI manifest digest: what the release names. */
  digest: string;
  /** The engine's image ID for that manifest (its config digest). */
  imageId: string;
  level: 'heavy' | 'light';
  vector: Record<string, number>;
  /** Service → layer digest, installed into light containers. */
  serviceLayers: Record<string, string>;
  services: { name: string; port?: number; health?: string }[];
  /** Container port → host port on 127.0.0.1 (0: any free port). */
  publish: Record<number, number>;
}

/** Labels every deploy-created container carries, so they can be found and removed. */
export function instanceLabels(target: Pick<DeployTarget, 'scope' | 'env' | 'image' | 'digest' | 'release' | 'vector'>): Record<string, string> {
  return {
    'dev.bake.scope': target.scope,
    'dev.bake.env': target.env,
    'dev.bake.image': target.image,
    'dev.bake.digest': target.digest,
    'dev.bake.release': String(target.release),
    'dev.bake.vector': JSON.stringify(target.vector),
  };
}
