import type { BuildResult } from '../build.js';
import { createEngine } from '../engine/docker-engine.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { loadIntoEngine, type LoadResult } from '../publish/engine-load.js';
import { pushImage, type PushResult } from '../registry/push.js';
import { parseRepository } from '../registry/reference.js';
import type { Digest } from '../util/digest.js';
import { workspacePaths } from '../workspace-paths.js';
import type { CommandContext } from './command.js';

/** `--load`: every build into the engine. Loaded lazily so commands without it never import dockerode. */
export async function loadBuilds(ctx: CommandContext, builds: (BuildResult & { load?: LoadResult })[]): Promise<void> {
  const engine = await createEngine(ctx.env);
  await engine.ping();
  const store = await openLayoutStore(workspacePaths(ctx.workspace).store);
  for (const build of builds) {
    ctx.progress({ kind: 'step', message: `loading ${build.ref} into ${engine.address}` });
    build.load = await loadIntoEngine(engine, store, build.digest as Digest, build.image, build.build);
  }
}

/** `--push REG/REPO`: every build to a registry, tagged with its build number. */
export async function pushBuilds(ctx: CommandContext, builds: (BuildResult & { push?: PushResult })[], target: string): Promise<void> {
  const repository = parseRepository(target);
  const store = await openLayoutStore(workspacePaths(ctx.workspace).store);
  for (const build of builds) {
    ctx.progress({ kind: 'step', message: `pushing ${build.ref} to ${target}` });
    build.push = await pushImage(store, build.digest as Digest, repository, { tag: `${build.image}-${build.build}`, env: ctx.env, progress: ctx.progress });
  }
}
