import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { removeStaleTempFiles } from '../manifest/manifest-file.js';
import { updateManifest } from '../store/manifest-access.js';
import type { ImageManifest } from '../oci/image-config.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { Annotation } from '../oci/media-types.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { workspacePaths } from '../config/workspace-paths.js';
import { collectUploads } from './collect-uploads.js';
import { keptBuilds } from './reachable.js';

export interface CollectOptions {
  dryRun?: boolean;
  /** Blobs and uploads younger than this are kept even if unreferenced: a bake may be about to record them. */
  graceSeconds?: number;
  env?: NodeJS.ProcessEnv;
}

type StoreCollection = Omit<CollectResult, 'uploads' | 'uploadBytes'>;

export interface CollectResult {
  /** Builds whose image is no longer in the store (their records stay, marked collected). */
  builds: string[];
  blobs: string[];
  bytes: number;
  /** Config digests (engine image IDs) of this workspace's builds that were not kept. */
  droppedConfigs: string[];
  /** Trees uploaded to `bake serve` that were removed, and their bytes. */
  uploads: string[];
  uploadBytes: number;
}

/**
 * Removes from the OCI layout every blob that no kept build and no committed service version
 * references, and the refs of collected builds. Runs under the manifest lock; blobs younger than
 * the grace period survive, because a bake writes blobs before it records them. Also removes
 * uploads older than the grace period that no in-flight service request names, and manifest temp
 * files a killed writer left.
 */
export async function collectStore(workspace: string, options: CollectOptions = {}): Promise<CollectResult> {
  const paths = workspacePaths(workspace);
  const store = await openLayoutStore(paths.store);
  const grace = (options.graceSeconds ?? 3600) * 1000;
  if (!options.dryRun) await removeStaleTempFiles(paths.manifest);
  const uploads = await collectUploads(workspace, { graceMs: grace, dryRun: options.dryRun === true });
  const tuning = { purpose: 'garbage collection', ...lockTuning(options.env) };
  type Update = { result: StoreCollection; write: boolean };
  const collectedStore = await updateManifest(paths.dir, tuning, async (manifest): Promise<Update> => {
    const kept = keptBuilds(manifest);
    const live = new Set<string>();
    for (const history of Object.values(manifest.services)) for (const v of history.versions) live.add(v.layer.digest);
    for (const build of kept) {
      live.add(build.digest);
      const image = await store.readJson<ImageManifest>(build.digest).catch(() => undefined);
      if (!image) continue;
      live.add(image.config.digest);
      for (const layer of image.layers) live.add(layer.digest);
    }
    const keptIds = new Set(kept.map((b) => `${b.image}:${b.id}`));
    const collected: string[] = [];
    const now = new Date().toISOString();
    for (const builds of Object.values(manifest.builds)) {
      for (const build of builds) {
        if (keptIds.has(`${build.image}:${build.id}`) || build.collected) continue;
        collected.push(`${build.image}:${build.id}`);
        if (!options.dryRun) build.collected = now;
      }
    }
    if (!options.dryRun && collected.length > 0) await store.untag(new Set(collected));
    // Refs still in index.json keep their manifests alive (a ref someone added by hand, say).
    for (const ref of await store.list()) {
      if (!collected.includes(ref.annotations?.[Annotation.refName] ?? '')) live.add(ref.digest);
    }
    const blobsDir = join(paths.store, 'blobs', 'sha256');
    const removed: string[] = [];
    let bytes = 0;
    for (const name of await readdir(blobsDir)) {
      const digest = name.startsWith('.tmp-') ? name : `sha256:${name}`;
      if (live.has(digest)) continue;
      const info = await stat(join(blobsDir, name)).catch(() => undefined);
      if (!info || Date.now() - info.mtimeMs < grace) continue;
      removed.push(digest);
      bytes += info.size;
      if (!options.dryRun) {
        await rm(join(blobsDir, name), { force: true });
        // A layer's body index (src/layer/layer-bodies.ts) goes with it.
        await rm(join(paths.layerBodies, `${name}.json`), { force: true });
      }
    }
    return {
      result: {
        builds: collected,
        blobs: removed,
        bytes,
        droppedConfigs: droppedConfigs(
          manifest,
          kept.map((b) => b.config),
        ),
      },
      write: !options.dryRun && collected.length > 0,
    };
  });
  return { ...collectedStore, uploads: uploads.uploads, uploadBytes: uploads.bytes };
}

function droppedConfigs(manifest: { builds: Record<string, { config: string }[]> }, kept: readonly string[]): string[] {
  const keep = new Set(kept);
  return [
    ...new Set(
      Object.values(manifest.builds)
        .flat()
        .map((b) => b.config),
    ),
  ].filter((c) => !keep.has(c));
}
