import { UsageError } from '../../util/errors.js';
import { stopRouter } from '../../deploy/router-process.js';
import { createEngine } from '../../engine/docker-engine.js';
import { defineCommand } from '../command.js';
import { readManifest } from '../../manifest/manifest-file.js';
import { workspacePaths } from '../../config/workspace-paths.js';
import { environmentConfig, withEnvironmentLock, workspaceScope } from '../environment-runtime.js';

export const downCommand = defineCommand({
  name: 'down',
  summary: 'remove everything an environment started (instances and its router)',
  help: `Usage: bake down [ENV]

Removes every container bake started for the environment, the images it loaded for the
environment's releases (unless a running container still uses one), and stops its router. The
manifest keeps the release history. ENV may be omitted when bake.yaml declares one environment.

JSON: {"env","containers","images","router"}`,
  options: [],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals) {
    if (positionals.length > 1) throw new UsageError('bake down takes at most one environment');
    const { ws, env } = await environmentConfig(ctx, positionals[0]);
    return withEnvironmentLock(ctx, env.name, async () => {
      const engine = await createEngine(ctx.env);
      await engine.ping();
      const containers = await engine.listContainers({ 'dev.bake.env': env.name, 'dev.bake.scope': workspaceScope(ws.dir) });
      for (const c of containers) await engine.removeContainer(c.id);
      const router = await stopRouter(ws.dir, env.name);
      const manifest = await readManifest(workspacePaths(ws.dir).manifest);
      const released = new Set((manifest.environments[env.name]?.releases ?? []).map((r) => `${r.image}:${r.build}`));
      const inUse = new Set((await engine.listContainers({})).filter((c) => c.running).map((c) => c.image));
      const images: string[] = [];
      for (const build of Object.values(manifest.builds).flat()) {
        if (!released.has(`${build.image}:${build.id}`) || inUse.has(build.config) || images.includes(build.config)) continue;
        if ((await engine.imageId(build.config)) === undefined) continue;
        await engine.removeImage(build.config);
        images.push(build.config);
      }
      return {
        json: { env: env.name, containers: containers.map((c) => c.name), images, router },
        human: [`${env.name}: removed ${containers.length} container(s), ${images.length} image(s)${router ? ', and stopped its router' : ''}`],
      };
    });
  },
});
