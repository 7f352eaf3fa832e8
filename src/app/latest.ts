import { workspacePaths } from '../config/workspace-paths.js';
import { readManifest } from '../manifest/manifest-file.js';
import { latestVersion } from '../manifest/model.js';
import type { AppContext } from './context.js';

export interface LatestOptions {
  /** The services to report; default: every service the manifest knows. */
  services?: readonly string[];
}

/** A service's latest committed version: what a caller proves its checkout against before committing. */
export interface LatestVersion {
  version: number;
  digest: string;
  /** The revision it was recorded from; null for a directory. */
  revision: string | null;
  author: string | null;
  /** Commit time of the revision (RFC 3339). */
  created: string;
  recordedBy: string;
  recordedAt: string;
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
  const manifest = await readManifest(workspacePaths(ctx.workspace).manifest);
  const names = options.services ?? Object.keys(manifest.services);
  const out: Record<string, LatestVersion> = {};
  for (const name of names) {
    const v = Object.hasOwn(manifest.services, name) ? latestVersion(manifest, name) : undefined;
    if (!v) continue;
    out[name] = {
      version: v.version,
      digest: v.digest,
      revision: v.revision ?? null,
      author: v.author ?? null,
      created: v.created,
      recordedBy: v.recordedBy,
      recordedAt: v.recordedAt,
    };
  }
  return { latest: out };
}
