import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_SAYS } from '../config/names.js';
import { routerDir } from '../deploy/router-process.js';
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { routerServing, type RouterServing } from './router-serving.js';

export type { RouterServing } from './router-serving.js';

export interface RouterFiguresOptions {
  /** Only this environment; without it, every environment a router was ever started for. */
  env?: string;
}

/** What one environment's router sees. `running: false`: no router answers for it. */
export interface EnvironmentFigures {
  env: string;
  running: boolean;
  serving: RouterServing[];
  toggles: Record<string, boolean>;
}

/** What `routerFigures` answers. */
export interface RouterFiguresResult {
  environments: EnvironmentFigures[];
}

/**
 * What the routers see now — every release with instances, its share of traffic and its figures,
 * and the feature toggles — without reading the manifest, so a dashboard can ask every second
 * whatever the length of the history. The share is counted as `bake status --env` counts it:
 * route weights when set, else live instances. Throws InputError for a bad environment name.
 */
export async function routerFigures(ctx: AppContext, options: RouterFiguresOptions = {}): Promise<RouterFiguresResult> {
  if (options.env !== undefined && !ENVIRONMENT_NAME.test(options.env)) {
    throw new InputError([{ file: 'request', field: 'env', message: `${JSON.stringify(options.env)} is not ${ENVIRONMENT_NAME_SAYS}` }]);
  }
  const names = options.env !== undefined ? [options.env] : await routedEnvironments(ctx.workspace);
  return { environments: await Promise.all(names.map((env) => figuresOf(ctx.workspace, env))) };
}

async function figuresOf(workspace: string, env: string): Promise<EnvironmentFigures> {
  const view = await routerServing(workspace, env);
  return view ? { env, running: true, ...view } : { env, running: false, serving: [], toggles: {} };
}

/** The environments that have (or had) a router: each has its directory where the routers keep their state. */
async function routedEnvironments(workspace: string): Promise<string[]> {
  const entries = await readdir(dirname(routerDir(workspace, 'any')), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && ENVIRONMENT_NAME.test(e.name))
    .map((e) => e.name)
    .sort();
}
