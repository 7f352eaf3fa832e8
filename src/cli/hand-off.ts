import type { BuildResult } from '../image/build-image.js';
import { createEngine } from '../engine/docker-engine.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { loadIntoEngine, type LoadResult } from '../publish/engine-load.js';
import { pushImage, type PushResult } from '../registry/push.js';
import { parseRepository } from '../registry/reference.js';
import type { Digest } from '../util/digest.js';
import { workspacePaths } from '../config/workspace-paths.js';
import type { CommandContext } from './command.js';

/** The part of a build the hand-off needs. */
type BuildRef = Pick<BuildResult, 'image' | 'build' | 'digest'>;

/** `--load`: every build into the engine, in order. dockerode is loaded only here. */
export async function loadBuilds(ctx: CommandContext, builds: readonly BuildRef[]): Promise<LoadResult[]> {
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

/** `--push REG/REPO`: every build to a registry, in order, tagged `<image>-<build>`. */
export async function pushBuilds(ctx: CommandContext, builds: readonly BuildRef[], target: string): Promise<PushResult[]> {
  const repository = parseRepository(target);
  const store = await openLayoutStore(workspacePaths(ctx.workspace).store);
  const results: PushResult[] = [];
  for (const build of builds) {
    ctx.progress({ kind: 'step', message: `pushing ${build.image}:${build.build} to ${target}` });
    results.push(await pushImage(store, build.digest as Digest, repository, { tag: `${build.image}-${build.build}`, env: ctx.env, progress: ctx.progress }));
  }
  return results;
}
