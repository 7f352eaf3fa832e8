import type { Engine } from '../engine/docker-engine.js';
import { Label } from '../engine/labels.js';

export interface EngineCollectResult {
  containers: string[];
  images: string[];
}

/**
 * Removes from an engine what bake put there and nothing needs: stopped bake containers, and the
 * images of this workspace's dropped builds (by image ID, so other workspaces' images sharing the
 * engine are never touched) that no running container uses.
 */
export async function collectEngine(
  engine: Engine,
  droppedConfigs: readonly string[],
  options: { dryRun?: boolean } = {},
): Promise<EngineCollectResult> {
  const containers = await engine.listContainers({ [Label.managed]: '' });
  const removedContainers: string[] = [];
  for (const c of containers) {
    if (c.running) continue;
    removedContainers.push(c.name);
    if (!options.dryRun) await engine.removeContainer(c.id);
  }
  const removedImages = await removeUnusedImages(engine, droppedConfigs, options);
  return { containers: removedContainers, images: removedImages.map((image) => image.tags[0] ?? image.id) };
}

/**
 * The one image-removal loop (gc and `bake down` both use it): removes each of `imageIds` that the
 * engine holds as a baked image and no running container uses, in the order given, and returns
 * what it removed. Images are matched by ID, never by tag, so another workspace's images survive.
 * With `dryRun` it only says what it would remove. Throws EngineError.
 */
export async function removeUnusedImages(
  engine: Pick<Engine, 'listContainers' | 'listImages' | 'removeImage'>,
  imageIds: Iterable<string>,
  options: { dryRun?: boolean } = {},
): Promise<{ id: string; tags: string[] }[]> {
  const inUse = new Set((await engine.listContainers({})).filter((c) => c.running).map((c) => c.image));
  const held = new Map((await engine.listImages({ [Label.image]: '' })).map((image) => [image.id, image]));
  const removed: { id: string; tags: string[] }[] = [];
  for (const id of new Set(imageIds)) {
    const image = held.get(id);
    if (!image || inUse.has(id)) continue;
    removed.push({ id, tags: image.tags });
    if (!options.dryRun) await engine.removeImage(id);
  }
  return removed;
}

/**
 * `bake down`'s image removal: each tag bake gave an image (`bake/<image>:<build>`) is removed only
 * when it still names the image bake loaded under it (`id`, the config digest) and no container at
 * all — of any workspace or environment, running or not — uses that image. Removing a tag only
 * untags an image that has other references (an identical image pulled from a registry, another
 * tag), so nothing bake did not create goes; the engine deletes the image only with its last
 * reference. Returns the tags removed. Throws EngineError.
 */
export async function removeImageTags(
  engine: Pick<Engine, 'listContainers' | 'imageId' | 'removeImage'>,
  tags: readonly { tag: string; id: string }[],
): Promise<string[]> {
  const inUse = new Set((await engine.listContainers({})).map((c) => c.image));
  const removed: string[] = [];
  for (const { tag, id } of tags) {
    if (inUse.has(id) || inUse.has(tag)) continue;
    if ((await engine.imageId(tag)) !== id) continue;
    await engine.removeImage(tag);
    removed.push(tag);
  }
  return removed;
}
