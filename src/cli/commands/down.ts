import { UsageError } from '../../errors.js';
import { stopRouter } from '../../deploy/router-process.js';
import { createEngine } from '../../engine/docker-engine.js';
import type { Command } from '../command.js';
import { environmentConfig, withEnvironmentLock, workspaceScope } from '../environment-runtime.js';

export const downCommand: Command = {
  name: 'down',
  summary: 'remove everything an environment started (instances and its router)',
  help: `Usage: bake down [ENV]

Removes every container bake started for the environment and stops its router. The manifest
keeps the release history. ENV may be omitted when bake.yaml declares one environment.

JSON: {"env","containers","router"}`,
  options: {},
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
      return { json: { env: env.name, containers: containers.map((c) => c.name), router }, human: [`${env.name}: removed ${containers.length} container(s)${router ? ' and stopped its router' : ''}`] };
    });
  },
};
