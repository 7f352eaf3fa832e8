import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { InputError } from '../util/errors.js';
import type { BaseConfig } from '../config/types.js';
import { writeLayer } from '../layer/layer.js';
import { assertSafeEntries } from '../tree/safe-entries.js';
import { readTar } from '../layer/tar.js';
import type { ImageConfig, ImageManifest } from '../oci/image-config.js';
import { openLayoutStore, type LayoutStore } from '../oci/layout-store.js';
import { readDirectoryTree } from '../source/directory-source.js';
import type { BaseImage } from './base-image.js';

/**
 * Turns a recipe's `base:` into layers in `store`. Root filesystems are repacked
 * deterministically with the given clock, so the same directory gives the same layer anywhere.
 * Throws InputError (missing ref), UnsafeSourceError, StoreError.
 */
export async function resolveBase(
  base: BaseConfig,
  store: LayoutStore,
  options: { mtime: number; recipeFile: string },
): Promise<BaseImage> {
  switch (base.kind) {
    case 'scratch':
      return { layers: [], config: {}, history: [], description: 'scratch' };
    case 'rootfs':
      return rootfsBase(base.path, store, options.mtime);
    case 'oci':
      return ociBase(base.layout, base.ref, store, options.recipeFile);
  }
}

async function rootfsBase(path: string, store: LayoutStore, mtime: number): Promise<BaseImage> {
  const label = `base rootfs ${path}`;
  const info = await stat(path);
  const entries = info.isDirectory()
    ? await readDirectoryTree(path, { label, exclude: [] })
    : await readTar(await tarballStream(path), label);
  assertSafeEntries(entries, { label, links: 'rootfs' });
  const layer = await writeLayer(store, entries, { prefix: '', mtime });
  return {
    layers: [layer],
    config: {},
    history: [{ created_by: `bake: base rootfs ${layer.descriptor.digest}` }],
    description: `rootfs ${layer.descriptor.digest}`,
  };
}

/** A tarball, transparently gunzipped when it starts with the gzip magic bytes. */
async function tarballStream(path: string) {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start: 0, end: 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .on('error', reject);
  });
  const raw = createReadStream(path);
  return head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
}

async function ociBase(layoutDir: string, ref: string, store: LayoutStore, recipeFile: string): Promise<BaseImage> {
  const source = await openLayoutStore(layoutDir);
  const descriptor = await source.resolve(ref);
  if (!descriptor) {
    const known = (await source.list()).map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter(Boolean);
    throw new InputError([
      {
        file: recipeFile,
        field: 'base.ref',
        message: `no image named ${ref} in the OCI layout ${layoutDir}`,
        fix: known.length > 0 ? `use one of: ${known.join(', ')}` : 'that layout has no named images',
      },
    ]);
  }
  const manifest = await source.readJson<ImageManifest>(descriptor.digest);
  const config = await source.readJson<ImageConfig>(manifest.config.digest);
  const layers = [];
  for (const [i, layer] of manifest.layers.entries()) {
    if (!(await store.has(layer.digest))) await store.putStream(source.openRead(layer.digest), layer.digest);
    const diffId = config.rootfs.diff_ids[i];
    if (diffId === undefined)
      throw new InputError([
        { file: recipeFile, field: 'base', message: `base ${ref} has fewer diff_ids than layers`, fix: 'rebuild the base image' },
      ]);
    layers.push({
      descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size },
      diffId: diffId as `sha256:${string}`,
    });
  }
  return {
    layers,
    config: config.config ?? {},
    history: config.history ?? [],
    description: `oci ${ref}@${descriptor.digest}`,
    digest: descriptor.digest,
  };
}
