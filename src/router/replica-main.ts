import { startControlServer } from './control-server.js';
import { startRouter } from './router.js';

/**
 * A replica of an environment's router inside a cluster (the `bake-<env>-router` swarm service):
 * the same router and control API as `bake router`, listening on every address of its container
 * rather than 127.0.0.1, configured by its environment:
 *   BAKE_ROUTER_LISTEN   SERVICE=PORT[,SERVICE=PORT…]  the listeners (container ports, published in host mode)
 *   BAKE_ROUTER_CONTROL  PORT                          the control API bake (on its host) pushes routes to
 * It keeps no time of its own (no settle loop): bake drives every replica alike. This module imports
 * only node: built-ins and src/router/, so the router image needs Node and no node_modules.
 */
async function main(): Promise<void> {
  const services: Record<string, number> = {};
  for (const pair of (process.env['BAKE_ROUTER_LISTEN'] ?? '').split(',').filter(Boolean)) {
    const [name, port] = pair.split('=');
    if (!name || !/^\d+$/.test(port ?? '')) throw new Error(`BAKE_ROUTER_LISTEN: ${pair} is not SERVICE=PORT`);
    services[name] = Number(port);
  }
  const control = Number(process.env['BAKE_ROUTER_CONTROL'] ?? '0');
  const router = await startRouter(services, { bind: '0.0.0.0' });
  const server = await startControlServer(router, control, '0.0.0.0');
  process.stderr.write(`bake router replica: ${JSON.stringify(router.listeners)}, control ${server.port}\n`);
  const stop = async () => {
    await server.close();
    await router.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`bake router replica: ${(error as Error).message}\n`);
  process.exit(1);
});
