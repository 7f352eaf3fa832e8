import { BAKE_LABEL, type Engine } from '../engine/docker-engine.js';
import { Annotation } from '../oci/media-types.js';

export interface EngineCollectResult {
  containers: string[];
  images: string[];
}

/**
 * Removes from an engine what bake put there and nothing needs: stopped bake containers, and the
 * images of this workspace's dropped builds (by image ID, so other workspaces' images sharing the
 * engine are never touched) that no running container uses.
 */
export async function collectEngine(engine: Engine, droppedConfigs: readonly string[], options: { dryRun?: boolean } = {}): Promise<EngineCollectResult> {
  const containers = await engine.listContainers({ [BAKE_LABEL]: '' });
  const removedContainers: string[] = [];
  const inUse = new Set<string>();
  for (const c of containers) {
    if (c.running) {
      inUse.add(c.image);
      continue;
    }
    removedContainers.push(c.name);
    if (!options.dryRun) await engine.removeContainer(c.id);
  }
  const dropped = new Set(droppedConfigs);
  const removedImages: string[] = [];
  for (const image of await engine.listImages({ [Annotation.image]: '' })) {
    if (!dropped.has(image.id) || inUse.has(image.id)) continue;
    removedImages.push(image.tags[0] ?? image.id);
    if (!options.dryRun) await engine.removeImage(image.id);
  }
  return { containers: removedContainers, images: removedImages };
}
