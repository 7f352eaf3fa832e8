import type { VersionManifest } from '../manifest/model.js';
import type { Digest } from '../util/digest.js';
import { holdersOf, type Holders } from './holders.js';
import { replacementFor, revocationIndex, revocationOf, revokedVersions, type Revocation } from './revocations.js';

/** A version revoked now, the layer that carries it, and the version to use instead. */
export interface RevokedVersionStatus extends Revocation {
  /** The newest descendant that is not revoked; null while the fix is not committed. */
  use: number | null;
  /** Its layer's digest: in every heavy image that holds it, and what a light deploy installs. */
  layer: Digest | null;
}

/** What `bake status` says about revocations: every revoked version, and everything that holds one. */
export interface RevokedStatus extends Holders {
  versions: RevokedVersionStatus[];
}

/**
 * Every version revoked now, and every live environment (with `env`: that one only), build, push
 * and image digest that holds one. Pure; one pass over builds and live releases.
 */
export function revokedStatus(manifest: VersionManifest, options: { env?: string } = {}): RevokedStatus {
  const index = revocationIndex(manifest);
  const versions = revokedVersions(index).map((r) => ({
    ...r,
    use: replacementFor(manifest, index, r.service, r.version)?.version ?? null,
    layer: manifest.services[r.service]?.versions[r.version - 1]?.layer.digest ?? null,
  }));
  if (index.size === 0) return { versions, environments: [], builds: [], pushes: [], digests: [] };
  return { versions, ...holdersOf(manifest, (service, version) => revocationOf(index, service, version) !== undefined, options) };
}
