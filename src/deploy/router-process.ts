import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BakeError } from '../util/errors.js';
import { startControlServer } from '../router/control-server.js';
import { routerClient, type RouterClient } from '../router/router-client.js';
import { startRouter } from '../router/router.js';

/** Where an environment's router says where it listens. */
export interface RouterInfo {
  pid: number;
  control: number;
  listeners: Record<string, number>;
}

export function routerDir(workspace: string, env: string): string {
  return join(workspace, '.bake', 'envs', env);
}

/**
 * Runs an environment's router in this process: its listeners (port 0 picks a free one), its
 * control API, and router.json saying where they are, which findRouter reads. `close` stops both
 * and removes router.json.
 */
export async function runRouter(
  workspace: string,
  env: string,
  services: Record<string, number>,
): Promise<{ info: RouterInfo; close(): Promise<void> }> {
  const router = await startRouter(services);
  const control = await startControlServer(router);
  const dir = routerDir(workspace, env);
  const info: RouterInfo = { pid: process.pid, control: control.port, listeners: router.listeners };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'router.json'), JSON.stringify(info));
  // Kept after the router stops: the next router of this environment asks for the same ports.
  await writeFile(join(dir, 'ports.json'), JSON.stringify(router.listeners));
  return {
    info,
    async close() {
      await control.close();
      await router.close();
      await rm(join(dir, 'router.json'), { force: true });
    },
  };
}

/** The running router of an environment, if its process answers. */
export async function findRouter(workspace: string, env: string): Promise<{ info: RouterInfo; client: RouterClient } | undefined> {
  let info: RouterInfo;
  try {
    info = JSON.parse(await readFile(join(routerDir(workspace, env), 'router.json'), 'utf8')) as RouterInfo;
  } catch {
    return undefined;
  }
  const client = routerClient(info.control);
  try {
    await client.state();
    return { info, client };
  } catch {
    return undefined;
  }
}

/**
 * The environment's router, started in the background (detached, logging to router.log) when it
 * is not running. `entry` is the bake CLI script that runs `bake router`. A service whose port is
 * 0 (bake.yaml sets none) gets the port the environment's last router had, when it is still free,
 * so URLs survive a `bake down` and `bake up`.
 */
export async function ensureRouter(
  workspace: string,
  env: string,
  ports: Record<string, number>,
  entry: string,
): Promise<{ info: RouterInfo; client: RouterClient }> {
  const running = await findRouter(workspace, env);
  if (running) return running;
  const remembered = await rememberedPorts(workspace, env);
  const again = Object.fromEntries(Object.entries(ports).map(([s, p]) => [s, p === 0 ? (remembered[s] ?? 0) : p]));
  if (Object.entries(again).some(([s, p]) => p !== ports[s])) {
    // A port remembered from last time may be taken by now: then any free port will do.
    try {
      return await spawnRouter(workspace, env, again, entry);
    } catch {
      return spawnRouter(workspace, env, ports, entry);
    }
  }
  return spawnRouter(workspace, env, ports, entry);
}

/** The ports the environment's last router listened on (none when it never ran). */
async function rememberedPorts(workspace: string, env: string): Promise<Record<string, number>> {
  try {
    const parsed = JSON.parse(await readFile(join(routerDir(workspace, env), 'ports.json'), 'utf8')) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => Number.isInteger(e[1])));
  } catch {
    return {};
  }
}

async function spawnRouter(
  workspace: string,
  env: string,
  ports: Record<string, number>,
  entry: string,
): Promise<{ info: RouterInfo; client: RouterClient }> {
  const dir = routerDir(workspace, env);
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'router.json'), { force: true });
  const log = await open(join(dir, 'router.log'), 'a');
  const listen = Object.entries(ports)
    .map(([s, p]) => `${s}=${p}`)
    .join(',');
  const child = spawn(process.execPath, [entry, '-C', workspace, 'router', '--env', env, '--listen', listen], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd],
  });
  child.unref();
  await log.close();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const found = await findRouter(workspace, env);
    if (found) return found;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const output = await readFile(join(dir, 'router.log'), 'utf8').catch(() => '');
  throw new BakeError(
    `the router of ${env} did not start (see ${join(dir, 'router.log')}):\n${output.trim().split('\n').slice(-5).join('\n')}`,
  );
}

/** Stops an environment's router process, if one runs. */
export async function stopRouter(workspace: string, env: string): Promise<boolean> {
  const running = await findRouter(workspace, env);
  if (!running) return false;
  try {
    process.kill(running.info.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  await rm(join(routerDir(workspace, env), 'router.json'), { force: true });
  return true;
}
