import { writeFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../../util/errors.js';
import { startControlServer } from '../../router/control-server.js';
import { startRouter } from '../../router/router.js';
import { routerDir } from '../../deploy/router-process.js';
import { defineCommand } from '../command.js';

export const routerCommand = defineCommand({
  name: 'router',
  summary: "run an environment's router in the foreground (deploy and up start it for you)",
  help: `Usage: bake router --env ENV --listen SERVICE=PORT[,SERVICE=PORT…]

Runs the version-aware router of an environment on 127.0.0.1 until SIGTERM: one listener per
service (port 0 picks a free one), plus a control API the deploy steps use. Writes
.bake/envs/ENV/router.json with its PID and ports. bake deploy and bake up start it in the
background when it is not running; bake down stops it.`,
  options: ['env', 'listen'],
  service: 'ignore',
  positionals: false,
  async run(ctx, _positionals, values) {
    const env = values['env'];
    if (typeof env !== 'string') throw new UsageError('bake router: --env is required');
    const services: Record<string, number> = {};
    for (const pair of String(values['listen'] ?? '').split(',').filter(Boolean)) {
      const [service, port] = pair.split('=');
      if (!service || !/^\d+$/.test(port ?? '')) throw new UsageError(`bake router: --listen wants SERVICE=PORT, got ${pair}`);
      services[service] = Number(port);
    }
    const router = await startRouter(services);
    const control = await startControlServer(router);
    const dir = routerDir(ctx.workspace, env);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'router.json'), JSON.stringify({ pid: process.pid, control: control.port, listeners: router.listeners }));
    process.stderr.write(`bake router for ${env}: ${JSON.stringify(router.listeners)}, control 127.0.0.1:${control.port}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await control.close();
    await router.close();
    await rm(join(dir, 'router.json'), { force: true });
    return { json: { stopped: env }, human: [] };
  },
});
