import type { EnvironmentConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
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

/** Earlier releases sent per environment: the page shows the newest; `bake log --env` has them all. */
export const PREVIOUS_SHOWN = 10;

/** One environment as the dashboard shows it: its status and its declaration. */
export interface EnvironmentView extends EnvironmentStatus {
  name: string;
  /** Absent from bake.yaml (only recorded in the manifest), or bake.yaml could not be read: null. */
  declared: EnvironmentDeclared | null;
  /** How many earlier releases there are; `previous` holds only the newest PREVIOUS_SHOWN of them. */
  previousTotal: number;
}

/** What `environmentsView` answers. */
export interface EnvironmentsViewResult {
  generation: number;
  environments: EnvironmentView[];
  /** Why bake.yaml could not be read, if it could not (the manifest's records are shown all the same). */
  configProblem: string | null;
}

/**
 * Every environment, recorded or declared: its live releases with their states and rollouts, the
 * newest releases before them, why its last rollout stopped, what is pending, and what bake.yaml
 * declares (strategy, canary steps). A function of the manifest and bake.yaml only: what the
 * routers see now is `routerFigures`. Throws ManifestError for a corrupt manifest.
 */
export async function environmentsView(ctx: AppContext, _options: EnvironmentsViewOptions = {}): Promise<EnvironmentsViewResult> {
  const [overall, config] = await Promise.all([status(ctx, {}), declaredEnvironments(ctx.workspace)]);
  const names = [...new Set([...Object.keys(overall.environments), ...config.declared.keys()])].sort();
  const environments = names.map((name): EnvironmentView => {
    const entry: EnvironmentStatus = overall.environments[name] ?? { live: [], running: {}, previous: [], refusals: 0 };
    return {
      ...entry,
      previous: entry.previous.slice(0, PREVIOUS_SHOWN),
      previousTotal: entry.previous.length,
      name,
      declared: config.declared.get(name) ?? null,
    };
  });
  return { generation: overall.generation, environments, configProblem: config.problem };
}

async function declaredEnvironments(workspace: string): Promise<{ declared: Map<string, EnvironmentDeclared>; problem: string | null }> {
  try {
    const ws = await loadWorkspace(workspace);
    const declared = new Map<string, EnvironmentDeclared>();
    for (const [name, e] of ws.environments) {
      declared.set(name, {
        image: e.image,
        strategy: e.strategy,
        replicas: e.replicas,
        canary: e.canary,
        probationSeconds: e.probationSeconds,
      });
    }
    return { declared, problem: null };
  } catch (error) {
    if (!(error instanceof BakeError)) throw error;
    // Said relative to the workspace: whoever reads the page need not learn the host's paths.
    return { declared: new Map(), problem: error.message.split(`${workspace}/`).join('') };
  }
}
