import { runSteps } from '../deploy/steps.js';
import { promoteSteps, withdrawSteps } from '../deploy/strategies.js';
import type { ReleaseRecord, RolloutStop } from '../manifest/model.js';
import { setReleaseState, type StateChangeOptions } from '../release/release-state.js';
import { currentActor } from '../config/workspace-paths.js';
import type { AppContext } from './context.js';
import { deployContext } from './deploy-context.js';
import type { EnvironmentRuntime } from './environment-runtime.js';
import { migrateAfterRetire } from '../compat/run-migrations.js';
import { migrationSite } from './migration-site.js';

/**
 * The two ways a release on probation leaves it, shared by promote, rollback, abort, the canary
 * analysis and the probation timer: withdrawn (traffic back to the others, its instances retired,
 * rolled-back) or promoted (all traffic, the others retired, committed). Both are steps with undo
 * and run to the end once started (an interruption does not stop them halfway).
 */

/** Why a rollout stopped, stamped with now and the actor. */
export function stopRecord(ctx: AppContext, stop: Omit<RolloutStop, 'at' | 'by'>): RolloutStop {
  return { ...stop, at: new Date().toISOString(), by: currentActor(ctx.env) };
}

/** Withdraws `live` (on probation) and marks it rolled-back, recording `stopped` when given. Throws StepsUndoneError, UndoFailedError. */
export async function withdrawRelease(
  ctx: AppContext,
  rt: EnvironmentRuntime,
  live: ReleaseRecord,
  options: { stopped?: RolloutStop; kind?: StateChangeOptions['kind']; note: string },
): Promise<void> {
  const withdrawn = deployContext(steady(ctx), rt, await rt.targetOf(live));
  const instances = (await rt.router.state()).instances;
  await runSteps(withdrawSteps(withdrawn, instances), { what: `withdrawal of release ${live.id} from ${rt.env.name}`, log: withdrawn.log });
  await setReleaseState(rt.ws.dir, rt.env.name, live.id, 'rolled-back', {
    env: ctx.env,
    kind: options.kind ?? 'withdraw',
    note: options.note,
    patch: { probationUntil: undefined, ...(options.stopped && { stopped: options.stopped }) },
  });
}

/**
 * Promotes `live`: it gets the full replica count and all traffic, every other instance is retired
 * (they run `previous`, which an undo starts again), and it is committed; then the contract
 * migrations that no running version needs any more run. Throws StepsUndoneError, UndoFailedError,
 * MigrationFailedError (the release stays committed).
 */
export async function promoteRelease(
  ctx: AppContext,
  rt: EnvironmentRuntime,
  live: ReleaseRecord,
  previous: ReleaseRecord | undefined,
  options: { kind?: StateChangeOptions['kind']; note: string },
): Promise<void> {
  const target = await rt.targetOf(live);
  const previousTarget = previous ? await rt.targetOf(previous).catch(() => undefined) : undefined;
  const deploy = deployContext(steady(ctx), rt, target, previousTarget);
  const instances = (await rt.router.state()).instances;
  await runSteps(promoteSteps(deploy, instances), { what: `promote of release ${live.id} in ${rt.env.name}`, log: deploy.log });
  await setReleaseState(rt.ws.dir, rt.env.name, live.id, 'committed', {
    env: ctx.env,
    kind: options.kind ?? 'promote',
    note: options.note,
    patch: { probationUntil: undefined, rollout: undefined },
  });
  // The old instances are gone and the probation is over: the contract migrations it waited for may run.
  await migrateAfterRetire(
    migrationSite(ctx, rt),
    live,
    (await rt.router.state()).instances.map((i) => i.vector),
  );
}

/** The context without its signal: these moves finish once begun. */
function steady(ctx: AppContext): AppContext {
  const { signal: _ignored, ...rest } = ctx;
  return rest;
}
