import type { BuildRecord, VersionManifest } from '../manifest/model.js';

/**
 * Which builds garbage collection keeps: every build a release references (live or previous, in
 * any environment) and the newest build of each image. Everything else may be collected.
 */
export function keptBuilds(manifest: VersionManifest): BuildRecord[] {
  const released = new Set<string>();
  for (const env of Object.values(manifest.environments)) {
    for (const release of env.releases) released.add(`${release.image}:${release.build}`);
  }
  const kept: BuildRecord[] = [];
  for (const [image, builds] of Object.entries(manifest.builds)) {
    const newest = builds.reduce<BuildRecord | undefined>((a, b) => (a && a.id > b.id ? a : b), undefined);
    for (const build of builds) {
      if (build === newest || released.has(`${image}:${build.id}`)) kept.push(build);
    }
  }
  return kept;
}
