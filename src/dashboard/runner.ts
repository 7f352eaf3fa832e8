import type { AppContext } from '../app/context.js';
import { runUseCase, type UseCaseName, type UseCaseOptions, type UseCaseResult } from '../app/use-cases.js';
import type { ProgressSink } from '../util/progress.js';

/** Who an action is recorded as, and where its progress goes. */
export interface RunAs {
  actor?: string;
  progress?: ProgressSink;
}

/** Runs one use case for the dashboard, on the service's workspace. */
export type Runner = <N extends UseCaseName>(name: N, options: UseCaseOptions<N>, as?: RunAs) => Promise<UseCaseResult<N>>;

/**
 * The dashboard's way into the application layer: the same table of use cases the CLI and
 * `POST /v1/commands` run, with the service's environment (BAKE_ACTOR set per action).
 */
export function createRunner(workspace: string, env: NodeJS.ProcessEnv): Runner {
  return (name, options, as = {}) => {
    const ctx: AppContext = {
      workspace,
      env: as.actor === undefined ? env : { ...env, BAKE_ACTOR: as.actor },
      progress: as.progress ?? (() => undefined),
    };
    return runUseCase(ctx, name, options);
  };
}
