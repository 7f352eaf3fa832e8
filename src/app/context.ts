import type { ProgressSink } from '../util/progress.js';

/**
 * What every use case receives besides its own options: where it works, the environment it reads
 * (SOURCE_DATE_EPOCH, BAKE_ACTOR — who is acting —, DOCKER_HOST, lock tuning…) and where progress goes. Use cases
 * never touch argv, stdout or exit codes; the CLI and the service build this and render results.
 */
export interface AppContext {
  /** The workspace directory (the one holding bake.yaml), absolute. */
  workspace: string;
  /** Process environment the use case may read; the service passes its own, minus secrets. */
  env: NodeJS.ProcessEnv;
  progress: ProgressSink;
  /** Aborted on SIGINT/SIGTERM (CLI) or when the service shuts down. */
  signal?: AbortSignal;
}
