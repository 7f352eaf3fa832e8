import { readdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_SAYS } from '../config/names.js';
import { findRouter, routerDir } from '../deploy/router-process.js';
import { NO_FIGURES, type ReleaseFigures } from '../router/release-stats.js';
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';

export interface RouterFiguresOptions {
  /** Only this environment; without it, every environment a router was ever started for. */
  env?: string;
}

/** One release with instances at the router: its share of unpinned traffic now, and what it served. */
export interface RouterServing {
  release: number;
  instances: number;
  /** Percentage of unpinned traffic. */
  share: number;
  figures: ReleaseFigures;
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
  const router = await findRouter(workspace, env);
  if (!router) return { env, running: false, serving: [], toggles: {} };
  const [state, stats] = await Promise.all([
    router.client.state(),
    router.client.stats().catch(() => ({}) as Record<string, ReleaseFigures>),
  ]);
  const counts = new Map<number, number>();
  for (const i of state.instances) if (!i.draining) counts.set(i.release, (counts.get(i.release) ?? 0) + 1);
  const weights = state.routes.weights;
  const weightOf = (release: number) => (weights ? (weights[String(release)] ?? 0) : (counts.get(release) ?? 0));
  const total = [...counts.keys()].reduce((sum, r) => sum + weightOf(r), 0);
  const serving = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([release, instances]) => ({
      release,
      instances,
      share: total === 0 ? 0 : Math.round((weightOf(release) / total) * 1000) / 10,
      figures: stats[String(release)] ?? NO_FIGURES,
    }));
  return { env, running: true, serving, toggles: state.toggles };
}

/** The environments that have (or had) a router: each has its directory where the routers keep their state. */
async function routedEnvironments(workspace: string): Promise<string[]> {
  const entries = await readdir(dirname(routerDir(workspace, 'any')), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && ENVIRONMENT_NAME.test(e.name))
    .map((e) => e.name)
    .sort();
}
