import type { MigrationSite } from '../compat/run-migrations.js';
import type { AppContext } from './context.js';
import type { EnvironmentRuntime } from './environment-runtime.js';

/** Where an environment's schema migrations run: its workspace and services, with the caller's environment (the database URL). */
export function migrationSite(ctx: AppContext, rt: Pick<EnvironmentRuntime, 'ws' | 'env'>): MigrationSite {
  return { workspace: rt.ws.dir, env: rt.env.name, services: rt.ws.services, processEnv: ctx.env, progress: ctx.progress };
}
