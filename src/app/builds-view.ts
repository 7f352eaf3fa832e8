import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';
import { readManifest } from '../store/manifest-access.js';
import type { BuildRecord, PushRecord, ReleaseState, VersionManifest, VersionVector } from '../manifest/model.js';
import { staleServices, type Superseded } from '../manifest/staleness.js';
import { digestHex, isDigest } from '../util/digest.js';
import type { AppContext } from './context.js';
import { pageOf, type Page, type PageOptions } from './paging.js';

export interface BuildsViewOptions extends PageOptions {
  /** Only this image's builds. */
  image?: string;
  /** With `image`: only this build (a link to one build, from a refusal). */
  build?: number;
}

/** One layer of an image, and what it holds. */
export interface LayerEntry {
  digest: string;
  size: number;
  mediaType: string;
  /** The service version it installs; absent for the base (and provisioning) layers. */
  service?: string;
  version?: number;
}

/** Where a build was released. */
export interface BuildRelease {
  env: string;
  release: number;
  state: ReleaseState;
  live: boolean;
}

/** One build as the dashboard shows it. */
export interface BuildEntry {
  image: string;
  build: number;
  digest: string;
  config: string;
  level: BuildRecord['level'];
  vector: VersionVector;
  /** Judged now: stale when a service in it has a newer committed version. */
  status: 'stale' | 'current';
  supersededBy: Superseded[];
  reproducible: boolean;
  dev: boolean;
  base: string;
  created: string;
  builtAt: string;
  builtBy: string;
  collected: string | null;
  overrides: NonNullable<BuildRecord['overrides']>;
  releases: BuildRelease[];
  /** Every registry it was pushed to (`bake push`, `build --push`), oldest first. */
  pushes: PushRecord[];
  /** The image's layers in order, read from the store; null when its manifest is no longer there. */
  layers: LayerEntry[] | null;
  /** Light images: the service layers the deploy step installs (sizes from the versions). */
  pinned: LayerEntry[];
}

/** What `buildsView` answers: every image with its build count, and one page of builds, newest first. */
export interface BuildsViewResult {
  generation: number;
  images: { image: string; builds: number; latest: number }[];
  page: Page<BuildEntry>;
}

/**
 * One page of builds, newest first (all images, or one): version vector, digest, staleness judged
 * against the versions committed since, layers with their sizes as the store holds them, whether
 * it is reproducible, the registries it was pushed to and the environments it was released to. Throws ManifestError for a corrupt manifest.
 */
export async function buildsView(ctx: AppContext, options: BuildsViewOptions = {}): Promise<BuildsViewResult> {
  const paths = workspacePaths(ctx.workspace);
  const manifest = await readManifest(paths.dir);
  const images = Object.entries(manifest.builds)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([image, list]) => ({ image, builds: list.length, latest: list.at(-1)?.id ?? 0 }));
  const all = options.image === undefined ? Object.values(manifest.builds).flat() : (manifest.builds[options.image] ?? []);
  const chosen = options.build === undefined ? all : all.filter((b) => b.id === options.build);
  const newestFirst = [...chosen].sort((a, b) => b.generation - a.generation || b.id - a.id);
  const page = pageOf(newestFirst, options);
  const released = releasesByBuild(manifest);
  const items = await Promise.all(page.items.map((b) => entryOf(manifest, paths.store, b, released.get(`${b.image}:${b.id}`) ?? [])));
  return { generation: manifest.generation, images, page: { ...page, items } };
}

async function entryOf(manifest: VersionManifest, store: string, b: BuildRecord, releases: BuildRelease[]): Promise<BuildEntry> {
  const byLayer = new Map<string, { service: string; version: number }>();
  for (const [service, layer] of Object.entries(b.serviceLayers)) byLayer.set(layer, { service, version: b.vector[service] ?? 0 });
  const layers = await imageLayers(store, b.digest);
  const pinned =
    b.level === 'light'
      ? Object.entries(b.serviceLayers).map(([service, digest]) => {
          const version = b.vector[service] ?? 0;
          const v = manifest.services[service]?.versions[version - 1];
          return { digest, size: v?.layer.size ?? 0, mediaType: v?.layer.mediaType ?? '', service, version };
        })
      : [];
  const superseded = staleServices(manifest, b.vector);
  return {
    image: b.image,
    build: b.id,
    digest: b.digest,
    config: b.config,
    level: b.level,
    vector: b.vector,
    status: superseded.length > 0 ? 'stale' : 'current',
    supersededBy: superseded,
    reproducible: b.reproducible,
    dev: b.dev === true,
    base: b.base,
    created: b.created,
    builtAt: b.builtAt,
    builtBy: b.builtBy,
    collected: b.collected ?? null,
    overrides: b.overrides ?? [],
    releases,
    pushes: b.pushes ?? [],
    layers: layers?.map((l) => ({ ...l, ...(b.level === 'heavy' && byLayer.get(l.digest)) })) ?? null,
    pinned,
  };
}

/** The layers of the image manifest `digest` in the store, or null when it is not there (collected, or never stored here). */
async function imageLayers(store: string, digest: string): Promise<LayerEntry[] | null> {
  // Read the blob directly rather than opening the store: reads must never create `.bake/`.
  if (!isDigest(digest)) return null;
  try {
    const manifest = JSON.parse(await readFile(join(store, 'blobs', 'sha256', digestHex(digest)), 'utf8')) as {
      layers?: { digest: string; size: number; mediaType: string }[];
    };
    return (manifest.layers ?? []).map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType }));
  } catch {
    return null;
  }
}

/** `image:build` → every release of it, in any environment. */
function releasesByBuild(manifest: VersionManifest): Map<string, BuildRelease[]> {
  const out = new Map<string, BuildRelease[]>();
  for (const [env, record] of Object.entries(manifest.environments)) {
    for (const r of record.releases) {
      const key = `${r.image}:${r.build}`;
      const list = out.get(key) ?? [];
      list.push({ env, release: r.id, state: r.state, live: record.live[r.image] === r.id });
      out.set(key, list);
    }
  }
  return out;
}
