import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BakeError } from '../util/errors.js';
import { routerClient, type RouterClient } from '../router/router-client.js';

/** Where an environment's router says where it listens. */
export interface RouterInfo {
  pid: number;
  control: number;
  listeners: Record<string, number>;
}

export function routerDir(workspace: string, env: string): string {
  return join(workspace, '.bake', 'envs', env);
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
 * is not running. `entry` is the bake CLI script that runs `bake router`.
 */
export async function ensureRouter(workspace: string, env: string, ports: Record<string, number>, entry: string): Promise<{ info: RouterInfo; client: RouterClient }> {
  const running = await findRouter(workspace, env);
  if (running) return running;
  const dir = routerDir(workspace, env);
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'router.json'), { force: true });
  const log = await open(join(dir, 'router.log'), 'a');
  const listen = Object.entries(ports).map(([s, p]) => `${s}=${p}`).join(',');
  const child = spawn(process.execPath, [entry, '-C', workspace, 'router', '--env', env, '--listen', listen], { detached: true, stdio: ['ignore', log.fd, log.fd] });
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
  throw new BakeError(`the router of ${env} did not start (see ${join(dir, 'router.log')}):\n${output.trim().split('\n').slice(-5).join('\n')}`);
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
