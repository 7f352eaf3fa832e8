import { currentBuilds } from './lookups.js';
import { latestVersion, type VersionManifest, type VersionVector } from './model.js';

/** A service whose latest committed version is newer than the one a build holds. */
export interface Superseded {
  service: string;
  have: number;
  latest: number;
}

/** Services whose latest committed version is newer than the one in `vector`. */
export function staleServices(manifest: VersionManifest, vector: VersionVector): Superseded[] {
  return Object.entries(vector).flatMap(([service, have]) => {
    const latest = latestVersion(manifest, service)?.version ?? have;
    return latest > have ? [{ service, have, latest }] : [];
  });
}

/**
 * Marks every current build that holds an older version of a service than its latest as stale,
 * naming what superseded it then (a stale build is never current again, so it is not read again). Called inside the same write that records the new version, so a build's
 * recorded status is never behind the versions the manifest knows.
 */
export function markSupersededBuilds(manifest: VersionManifest): void {
  // A stale build stays stale: only the current ones are read (through the index).
  for (const build of currentBuilds(manifest)) {
    const superseded = staleServices(manifest, build.vector);
    if (superseded.length === 0) continue;
    build.status = 'stale';
    build.supersededBy = superseded;
  }
}
