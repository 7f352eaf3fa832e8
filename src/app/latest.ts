import { viewManifest } from '../store/manifest-access.js';
import { recordedSide } from '../history/follows.js';
import type { RecordedSide } from '../history/history-refusal.js';
import { latestVersion } from '../manifest/model.js';
import type { AppContext } from './context.js';

export interface LatestOptions {
  /** The services to report; default: every service the manifest knows. */
  services?: readonly string[];
}

/**
 * A service's latest committed version: what a caller proves its checkout against before
 * committing (its recorded side; `revision` null for a directory), and its content digest.
 */
export interface LatestVersion extends RecordedSide {
  digest: string;
}

/** The latest versions by service; a service with no version is absent. */
export interface LatestResult {
  latest: Record<string, LatestVersion>;
}

/**
 * The latest committed version of each service, read without the lock: the snapshot a commit
 * through `bake serve` proves its checkout's ancestry against. The proof names the version it was
 * made against and the commit is refused as `moved` under the lock when that is no longer the
 * latest, so a stale read costs a retry, never a wrong order. Throws ManifestError.
 */
export async function latest(ctx: AppContext, options: LatestOptions = {}): Promise<LatestResult> {
  return viewManifest(ctx.workspace, (manifest) => {
    const names = options.services ?? Object.keys(manifest.services);
    const out: Record<string, LatestVersion> = {};
    for (const name of names) {
      const v = Object.hasOwn(manifest.services, name) ? latestVersion(manifest, name) : undefined;
      if (!v) continue;
      out[name] = { ...recordedSide(v), digest: v.digest };
    }
    return { latest: out };
  });
}
