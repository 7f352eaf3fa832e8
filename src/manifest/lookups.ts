import { whereIndexed } from '../store/lazy-list.js';
import type { BuildRecord, ReleaseRecord, VersionManifest } from './model.js';

/**
 * Finding records without reading whole lists, for the commands whose cost must not grow with
 * history. Builds and releases are numbered 1, 2, 3… in the order they were recorded, so record
 * `id` is at index `id - 1`; each lookup checks that and falls back to a scan for a list that
 * was edited by hand.
 */

/** The build `id` of a list of builds of one image. */
export function buildById(builds: readonly BuildRecord[], id: number): BuildRecord | undefined {
  const at = builds[id - 1];
  return at?.id === id ? at : builds.find((b) => b.id === id);
}

/** The release `id` of an environment. */
export function releaseById(releases: readonly ReleaseRecord[], id: number): ReleaseRecord | undefined {
  const at = releases[id - 1];
  return at?.id === id ? at : releases.find((r) => r.id === id);
}

/** The newest record of a list (highest id), read from its end. */
export function newest<T extends { id: number }>(list: readonly T[]): T | undefined {
  const last = list.at(-1);
  if (last === undefined || last.id === list.length) return last;
  return list.reduce<T | undefined>((a, b) => (!a || b.id > a.id ? b : a), undefined);
}

/** The next id of a list: one more than its newest. */
export function nextId(list: readonly { id: number }[]): number {
  return (newest(list)?.id ?? 0) + 1;
}

/** Builds still marked current, of every image: the only ones a new commit can make stale. */
export function currentBuilds(manifest: VersionManifest): BuildRecord[] {
  return Object.values(manifest.builds).flatMap((builds) => whereIndexed(builds, 'status', 'current'));
}

/** Builds of one image with this manifest digest. */
export function buildsWithDigest(builds: readonly BuildRecord[], digest: string): BuildRecord[] {
  return whereIndexed(builds, 'digest', digest);
}
