import { findEnvironmentRouter as findRouter } from './cluster-router.js';
import { NO_FIGURES, type ReleaseFigures } from '../router/release-stats.js';

/** One release with instances at the router: its share of unpinned traffic now, and what it served. */
export interface RouterServing {
  release: number;
  instances: number;
  /** Percentage of unpinned traffic. */
  share: number;
  figures: ReleaseFigures;
}

/** What an environment's router serves now, and its feature toggles. */
export interface RouterView {
  serving: RouterServing[];
  toggles: Record<string, boolean>;
}

/**
 * Asks the environment's router what it serves: every release with live (not draining) instances,
 * by release id, with its share of unpinned traffic (the route weights when set, else its instance
 * count) and the router's figures (zero when the router cannot count). Undefined when no router
 * runs for it. One definition for `bake status --env` and the dashboard's router figures.
 */
export async function routerServing(workspace: string, env: string): Promise<RouterView | undefined> {
  const router = await findRouter(workspace, env);
  if (!router) return undefined;
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
  return { serving, toggles: state.toggles };
}
