import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { RecipeConfig, ServiceConfig, WorkspaceConfig } from '../../src/config/types.js';
import type { AssembledImage } from '../../src/image/assemble.js';
import { writeLayer } from '../../src/layer/layer.js';
import { emptyManifest, type CommittedVersion, type VersionManifest } from '../../src/manifest/model.js';
import type { ImageConfig, ImageManifest } from '../../src/oci/image-config.js';
import type { LayoutStore } from '../../src/oci/layout-store.js';
import { contentDigest, type TreeEntry } from '../../src/tree/tree.js';

/**
 * Fixed inputs for the image stages (plan → assemble) without git or Docker: in-memory trees,
 * committed versions made from them the way `bake commit` makes them, and a real layout store.
 */

export const T0 = Date.parse('2026-01-01T00:00:00Z') / 1000;

export function file(path: string, content: string, mode = 0o644): TreeEntry {
  const body = Buffer.from(content);
  return { path, type: 'file', mode, size: body.length, read: async () => body };
}

export function dir(path: string): TreeEntry {
  return { path, type: 'directory', mode: 0o755, size: 0 };
}

export function service(name: string, extra: Partial<ServiceConfig> = {}): ServiceConfig {
  return { name, source: `/ws/services/${name}`, sourceAsWritten: `services/${name}`, install: `/srv/${name}`, env: {}, ...extra };
}

export function workspace(services: ServiceConfig[]): WorkspaceConfig {
  return { dir: '/ws', file: '/ws/bake.yaml', services: new Map(services.map((s) => [s.name, s])), environments: new Map() };
}

export function recipe(services: string[], extra: Partial<RecipeConfig> = {}): RecipeConfig {
  return {
    image: 'shop',
    file: '/ws/recipes/shop.yaml',
    bake: 'heavy',
    base: { kind: 'scratch' },
    services,
    env: {},
    ports: [],
    labels: {},
    platform: { os: 'linux', architecture: 'amd64' },
    ...extra,
  };
}

/** Packs `entries` as version `n` of a service, as commit does: layer under the install path, at `time`. */
export async function commitTree(
  store: LayoutStore,
  svc: ServiceConfig,
  n: number,
  entries: TreeEntry[],
  time = T0,
): Promise<CommittedVersion> {
  const layer = await writeLayer(store, entries, { prefix: svc.install, mtime: time });
  return {
    version: n,
    digest: await contentDigest(entries, `${svc.install}\0`),
    layer: { digest: layer.descriptor.digest, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType },
    install: svc.install,
    source: 'git',
    revision: `${n}`.repeat(40).slice(0, 40),
    author: 'Shop Team <team@shop.invalid>',
    created: new Date(time * 1000).toISOString().replace('.000Z', 'Z'),
    recordedAt: '2026-01-01T00:00:00Z',
    recordedBy: 'test@host',
    generation: n,
  };
}

/** A manifest whose services have exactly these versions (oldest first). */
export function manifestOf(versions: Record<string, CommittedVersion[]>): VersionManifest {
  const m = emptyManifest();
  for (const [name, list] of Object.entries(versions)) m.services[name] = { versions: list };
  return m;
}

/**
 * Recomputes every digest an image names, from the stored bytes (go-containerregistry's
 * validate.Image habit): manifest, config and each layer; diff_ids must match the layers.
 * Returns the parsed manifest and config.
 */
export async function validateImage(store: LayoutStore, image: AssembledImage): Promise<{ manifest: ImageManifest; config: ImageConfig }> {
  const bytes = async (digest: `sha256:${string}`, size: number) => {
    const body = await store.readBytes(digest);
    expect(`sha256:${createHash('sha256').update(body).digest('hex')}`, `blob ${digest}`).toBe(digest);
    expect(body.length, `size of ${digest}`).toBe(size);
    return body;
  };
  const manifest = JSON.parse((await bytes(image.manifest.digest, image.manifest.size)).toString()) as ImageManifest;
  const config = JSON.parse((await bytes(manifest.config.digest, manifest.config.size)).toString()) as ImageConfig;
  expect(manifest.config.digest).toBe(image.config);
  for (const layer of manifest.layers) await bytes(layer.digest, layer.size);
  // Layers are stored uncompressed, so each diff ID is the layer's own digest.
  expect(config.rootfs.diff_ids).toEqual(manifest.layers.map((l) => l.digest));
  expect(manifest.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.descriptor.digest));
  return { manifest, config };
}
