import type { DeployContext } from '../deploy/operations.js';
import { createLogger } from '../util/log.js';
import type { AppContext } from './context.js';
import type { EnvironmentRuntime } from './environment-runtime.js';

const debug = createLogger('deploy');

/** The deploy context of a runtime for one target: what the step functions work with. */
export function deployContext(
  ctx: AppContext,
  rt: EnvironmentRuntime,
  target: DeployContext['target'],
  previous?: DeployContext['target'],
): DeployContext {
  return {
    engine: rt.engine,
    router: rt.router,
    blobs: rt.blobs,
    ...(rt.instances && { instances: rt.instances }),
    target,
    ...(previous && { previous }),
    replicas: rt.env.replicas,
    healthTimeoutMs: rt.healthTimeoutMs,
    ...(ctx.signal && { signal: ctx.signal }),
    log(line) {
      debug.debug(line, { env: rt.env.name });
      ctx.progress({ kind: 'done', message: `${rt.env.name}: ${line}` });
    },
  };
}
