import { Label } from '../engine/labels.js';
import type { VersionVector } from '../manifest/model.js';
import type { Digest } from '../util/digest.js';
import type { ImageId } from '../util/image-id.js';

/** Everything the deploy step needs, as plain data: digests and versions, never a recipe. */
export interface DeployTarget {
  /** Identifies the workspace, so two workspaces' environments on one engine never mix. */
  scope: string;
  env: string;
  image: string;
  release: number;
  /** The OCI manifest digest: what the release names. */
  digest: Digest;
  /** The engine's image ID for that manifest (its config digest): what containers are created from. */
  imageId: ImageId;
  level: 'heavy' | 'light';
  vector: VersionVector;
  /** Service → layer digest, installed into light containers. */
  serviceLayers: Record<string, Digest>;
  services: { name: string; port?: number; health?: string }[];
  /** On a cluster: `registry/repo@sha256:…`, where every node pulls the image from (pushed before the deploy). */
  reference?: string;
  /** Container port → host port on 127.0.0.1 (0: any free port). */
  publish: Record<number, number>;
}

/** Labels every deploy-created container carries, so they can be found and removed. */
export function instanceLabels(
  target: Pick<DeployTarget, 'scope' | 'env' | 'image' | 'digest' | 'release' | 'vector'>,
): Record<string, string> {
  return {
    [Label.scope]: target.scope,
    [Label.env]: target.env,
    [Label.image]: target.image,
    [Label.digest]: target.digest,
    [Label.release]: String(target.release),
    [Label.vector]: JSON.stringify(target.vector),
  };
}
