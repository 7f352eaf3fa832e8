import { workspacePaths } from '../config/workspace-paths.js';
import { createEngine } from '../engine/docker-engine.js';
import type { BuildResult as ImageBuild } from '../image/build-image.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { loadIntoEngine, type LoadResult } from '../publish/engine-load.js';
import { pushImage, type PushResult } from '../registry/push.js';
import { parseRepository } from '../registry/reference.js';
import type { Digest } from '../util/digest.js';
import type { AppContext } from './context.js';
import { recordPush } from './record-push.js';

/** The part of a build the hand-off needs. */
export type BuildRef = Pick<ImageBuild, 'image' | 'build' | 'digest'>;

export interface HandOffOptions {
  builds: readonly BuildRef[];
  /** Load each build into the Docker engine (DOCKER_HOST) as bake/<image>:<build>. */
  load?: boolean;
  /** Push each build to this REGISTRY/REPO over the distribution API, tagged <image>-<build>. */
  push?: string;
  /** Push layers gzip-compressed (see pushImage): the pushed digest then differs from the store's. */
  compress?: boolean;
}

/** Per build, in the order given: what the load and the push did (absent when not asked for). */
export interface HandOffResult {
  loads: LoadResult[];
  pushes: PushResult[];
}

/**
 * Hands baked images on: into the engine, to a registry, or both, by digest. The engine client
 * (dockerode) is loaded only when a load is asked for; each push is recorded on its build. Throws
 * RemoteStatusError, StoreError, InputError (a malformed REGISTRY/REPO), ManifestError, LockError.
 */
export async function handOff(ctx: AppContext, options: HandOffOptions): Promise<HandOffResult> {
  const loads = options.load === true ? await loadBuilds(ctx, options.builds) : [];
  const pushes =
    options.push !== undefined ? await pushBuilds(ctx, options.builds, options.push, { compress: options.compress === true }) : [];
  return { loads, pushes };
}

/** `--load`: every build into the engine, in order. */
export async function loadBuilds(ctx: AppContext, builds: readonly BuildRef[]): Promise<LoadResult[]> {
  const engine = await createEngine(ctx.env);
  await engine.ping();
  const store = await openLayoutStore(workspacePaths(ctx.workspace).store);
  const results: LoadResult[] = [];
  for (const build of builds) {
    ctx.progress({ kind: 'step', message: `loading ${build.image}:${build.build} into ${engine.address}` });
    results.push(await loadIntoEngine(engine, store, build.digest as Digest, build.image, build.build));
  }
  return results;
}

/**
 * `--push REG/REPO`: every build to a registry, in order, tagged `<image>-<build>`; `compress`: gzip
 * layers. Each successful push is recorded on its build (recordPush) before the next one starts, so
 * a later failure keeps the record of what did reach the registry.
 */
export async function pushBuilds(
  ctx: AppContext,
  builds: readonly BuildRef[],
  target: string,
  options: { compress?: boolean } = {},
): Promise<PushResult[]> {
  const repository = parseRepository(target, ctx.env);
  const store = await openLayoutStore(workspacePaths(ctx.workspace).store);
  const results: PushResult[] = [];
  for (const build of builds) {
    ctx.progress({ kind: 'step', message: `pushing ${build.image}:${build.build} to ${target}` });
    const tag = `${build.image}-${build.build}`;
    const compress = options.compress === true;
    const pushed = await pushImage(store, build.digest as Digest, repository, { tag, env: ctx.env, progress: ctx.progress, compress });
    await recordPush(ctx, build, target, pushed);
    results.push(pushed);
  }
  return results;
}
