import { UsageError } from '../../util/errors.js';
import { runRouter } from '../../deploy/router-process.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

/** How often the router process checks for a probation that ran out or a rollout past its deadline. */
const SETTLE_INTERVAL_MS = 1000;

export const routerCommand = defineCommand({
  name: 'router',
  summary: "run an environment's router in the foreground (deploy and up start it for you)",
  help: `Usage: bake router --env ENV --listen SERVICE=PORT[,SERVICE=PORT…]

Runs the version-aware router of an environment on 127.0.0.1 until SIGTERM: one listener per
service (port 0 picks a free one), plus a control API the deploy steps use. Writes
.bake/envs/ENV/router.json with its PID and ports. bake deploy and bake up start it in the
background when it is not running; bake down stops it. Each second it also ends a blue/green
probation that ran out (retiring the idle old fleet) and aborts a paused rollout past its
progress deadline, taking the environment's lock when it is free.`,
  options: ['env', 'listen'],
  service: 'ignore',
  positionals: false,
  async run(ctx, _positionals, values) {
    const env = values['env'];
    if (typeof env !== 'string') throw new UsageError('bake router: --env is required');
    const services = parseListen(values['listen'] ?? '');
    const router = await runRouter(ctx.workspace, env, services);
    process.stderr.write(`bake router for ${env}: ${JSON.stringify(router.info.listeners)}, control 127.0.0.1:${router.info.control}\n`);
    // The router also keeps time for its environment: a blue/green probation that runs out is
    // ended here, and a paused rollout past its deadline aborted, even when nobody runs bake.
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      invoke(ctx, 'settle', { env, lockTimeoutMs: 250 })
        .then((done) => {
          if (done.done) process.stderr.write(`bake router for ${env}: ${done.done} of release ${done.release}\n`);
        })
        .catch((error: unknown) => {
          // A deploy holding the lock settles the environment itself; anything else is for the log.
          if ((error as { kind?: string }).kind !== 'lock')
            process.stderr.write(`bake router for ${env}: settle failed: ${(error as Error).message}\n`);
        })
        .finally(() => {
          busy = false;
        });
    }, SETTLE_INTERVAL_MS);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    clearInterval(timer);
    await router.close();
    return { json: { stopped: env }, human: [] };
  },
});

/** `web=18080,catalog=0` → {web: 18080, catalog: 0}; throws UsageError with the expected form. */
function parseListen(text: string): Record<string, number> {
  const services: Record<string, number> = {};
  for (const pair of text.split(',').filter(Boolean)) {
    const [service, port] = pair.split('=');
    if (!service || !/^\d+$/.test(port ?? '') || Number(port) > 65_535)
      throw new UsageError(`bake router: --listen wants SERVICE=PORT, got ${pair}`);
    services[service] = Number(port);
  }
  return services;
}
