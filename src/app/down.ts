import { stopRouter } from '../deploy/router-process.js';
import { createEngine } from '../engine/docker-engine.js';
import { Label } from '../engine/labels.js';
import { removeImageTags } from '../gc/engine-gc.js';
import { readManifest } from '../store/manifest-access.js';
import type { AppContext } from './context.js';
import { environmentConfig, withEnvironmentLock, workspaceScope } from './environment-runtime.js';
import { removeSwarmServices, swarmOf } from './swarm-rollout.js';

export interface DownOptions {
  /** The environment; may be omitted when bake.yaml declares one. */
  env?: string;
}

/** What `bake down --json` prints. */
export interface DownResult {
  env: string;
  /** Names of the containers removed. */
  containers: string[];
  /** Image tags removed (`bake/<image>:<build>`); an image goes with its last tag. */
  images: string[];
  /** Whether a router was running and was stopped. */
  router: boolean;
  /** On a swarm: the services removed (the engine removes their tasks on every node). */
  services?: string[];
}

/**
 * Removes the containers bake started for the environment (carrying its env and workspace labels;
 * nothing else), stops its router, and removes the tags bake gave the images of the environment's
 * releases (`bake/<image>:<build>`) unless another environment of this workspace runs that build,
 * or any container (of any workspace) uses the image, or the tag now names another image. Removing
 * a tag deletes an image only with its last reference: an identical image pulled from a registry
 * survives. The manifest keeps the release history. Throws InputError for an unknown environment,
 * EngineUnavailableError when no engine answers.
 */
export async function down(ctx: AppContext, options: DownOptions = {}): Promise<DownResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  return withEnvironmentLock(ctx, env.name, async () => {
    if (swarmOf(env)) {
      const services = await removeSwarmServices(ws, env);
      return { env: env.name, containers: [], images: [], router: await stopRouter(ws.dir, env.name), services };
    }
    const engine = await createEngine(ctx.env);
    await engine.ping();
    const containers = await engine.listContainers({ [Label.env]: env.name, [Label.scope]: workspaceScope(ws.dir) });
    for (const c of containers) await engine.removeContainer(c.id);
    const router = await stopRouter(ws.dir, env.name);
    const manifest = await readManifest(ws.dir);
    const elsewhere = new Set(
      Object.entries(manifest.environments)
        .filter(([name]) => name !== env.name)
        .flatMap(([, record]) => Object.values(record.live).map((id) => record.releases.find((r) => r.id === id)))
        .filter((r) => r !== undefined)
        .map((r) => `${r.image}:${r.build}`),
    );
    const released = new Set((manifest.environments[env.name]?.releases ?? []).map((r) => `${r.image}:${r.build}`));
    const tags = Object.values(manifest.builds)
      .flat()
      .filter((build) => released.has(`${build.image}:${build.id}`) && !elsewhere.has(`${build.image}:${build.id}`))
      .map((build) => ({ tag: `bake/${build.image}:${build.id}`, id: build.config }));
    const images = await removeImageTags(engine, tags);
    return { env: env.name, containers: containers.map((c) => c.name), images, router };
  });
}
