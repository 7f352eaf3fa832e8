import type { EnvironmentConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import { findRouter } from '../deploy/router-process.js';
import { BakeError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { status, type EnvironmentStatus } from './status.js';

export type EnvironmentsViewOptions = Record<string, never>;

/** What bake.yaml declares for an environment, as far as a rollout is concerned. */
export interface EnvironmentDeclared {
  image: string;
  strategy: EnvironmentConfig['strategy'];
  replicas: number;
  canary: EnvironmentConfig['canary'];
  probationSeconds: number;
}

/** One environment as the dashboard shows it: its status (with router figures when its router runs) and its declaration. */
export interface EnvironmentView extends EnvironmentStatus {
  name: string;
  /** Absent from bake.yaml (only recorded in the manifest), or bake.yaml could not be read: null. */
  declared: EnvironmentDeclared | null;
  /** The router's feature toggles; null when no router runs. */
  toggles: Record<string, boolean> | null;
}

/** What `environmentsView` answers. */
export interface EnvironmentsViewResult {
  generation: number;
  environments: EnvironmentView[];
  /** Why bake.yaml could not be read, if it could not (the manifest's records are shown all the same). */
  configProblem: string | null;
}

/**
 * Every environment, recorded or declared: its live releases with their states and rollouts, what
 * it ran before, why its last rollout stopped, and — for environments a deploy put behind a router
 * — every serving release's share and figures (status --env) and the toggles. Reads the manifest
 * once more per environment whose router runs. Throws ManifestError for a corrupt manifest.
 */
export async function environmentsView(ctx: AppContext, _options: EnvironmentsViewOptions = {}): Promise<EnvironmentsViewResult> {
  const [overall, config] = await Promise.all([status(ctx, {}), declaredEnvironments(ctx.workspace)]);
  const names = [...new Set([...Object.keys(overall.environments), ...config.declared.keys()])].sort();
  const environments = await Promise.all(
    names.map(async (name): Promise<EnvironmentView> => {
      let entry: EnvironmentStatus = overall.environments[name] ?? { live: [], running: {}, previous: [], refusals: 0 };
      // Only a deploy starts a router (a plain `bake release` has none): its figures cost one more status read.
      const router = await findRouter(ctx.workspace, name).catch(() => undefined);
      let toggles: Record<string, boolean> | null = null;
      if (router) {
        if (entry.serving === undefined) entry = (await status(ctx, { env: name })).environments[name] ?? entry;
        toggles = await router.client.state().then(
          (s) => s.toggles,
          () => null,
        );
      }
      return { ...entry, name, declared: config.declared.get(name) ?? null, toggles };
    }),
  );
  return { generation: overall.generation, environments, configProblem: config.problem };
}

async function declaredEnvironments(workspace: string): Promise<{ declared: Map<string, EnvironmentDeclared>; problem: string | null }> {
  try {
    const ws = await loadWorkspace(workspace);
    const declared = new Map<string, EnvironmentDeclared>();
    for (const [name, e] of ws.environments) {
      declared.set(name, { image: e.image, strategy: e.strategy, replicas: e.replicas, canary: e.canary, probationSeconds: e.probationSeconds });
    }
    return { declared, problem: null };
  } catch (error) {
    if (!(error instanceof BakeError)) throw error;
    return { declared: new Map(), problem: error.message };
  }
}
