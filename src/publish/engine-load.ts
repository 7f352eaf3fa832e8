import { EngineError } from '../engine/errors.js';
import type { Engine } from '../engine/docker-engine.js';
import type { LayoutStore } from '../oci/layout-store.js';
import type { Digest } from '../util/digest.js';
import { dockerArchive } from './docker-archive.js';
import { createLogger } from '../util/log.js';

const log = createLogger('engine-load');

export interface LoadResult {
  /** The engine's image ID: always our config digest. */
  imageId: string;
  tag: string;
  /** False when the engine already had the image and nothing was sent. */
  loaded: boolean;
}

/**
 * Loads an image from the store into a Docker engine and tags it `bake/<image>:<build>`. Skips
 * the transfer when the engine already has the image ID; verifies afterwards that the ID the
 * engine reports is the config digest, so what runs is what was baked. Throws EngineError.
 */
export async function loadIntoEngine(
  engine: Engine,
  store: LayoutStore,
  manifestDigest: Digest,
  image: string,
  build: number,
): Promise<LoadResult> {
  const repo = `bake/${image}`;
  const tag = String(build);
  const { archive, configDigest } = await dockerArchive(store, manifestDigest, [`${repo}:${tag}`]);
  const existing = await engine.imageId(configDigest);
  if (existing === configDigest) {
    archive.destroy();
    await engine.tagImage(configDigest, repo, tag);
    return { imageId: configDigest, tag: `${repo}:${tag}`, loaded: false };
  }
  log.debug('loading', { image, build, configDigest });
  await engine.loadImage(archive);
  log.debug('loaded', { image, build });
  // Judged by the ID, not the tag: another workspace may load its own build of the same name and
  // number at the same moment and move the tag, but the ID is the config digest or the load lied.
  if ((await engine.imageId(configDigest)) !== configDigest) {
    const tagged = await engine.imageId(`${repo}:${tag}`);
    throw new EngineError(
      `the engine has no image ${configDigest} after loading ${repo}:${tag} (the tag names ${tagged ?? 'nothing'}); the load was not faithful`,
      undefined,
    );
  }
  await engine.tagImage(configDigest, repo, tag);
  return { imageId: configDigest, tag: `${repo}:${tag}`, loaded: true };
}
