import type { StrategyName } from '../config/names.js';
import type { Instance, Routes } from '../router/route-table.js';
import { retireStep, routeStep, startStep, type DeployContext } from './operations.js';
import type { Step } from './steps.js';

export interface StrategyOptions {
  batch: number;
  /** Canary: the share of the first step (default 10). A/B always splits 50/50. */
  percent?: number;
  cohort: string[];
  /** Blue/green: keep the old fleet up, with no traffic, after the switch (probation: an instant flip-back). */
  keepOld?: boolean;
  /** Blue/green: start the new fleet behind the preview listeners and stop before the switch (promote switches). */
  preview?: boolean;
}

/** The release state a strategy leaves behind: canary and A/B wait for promote or rollback, as does a kept blue/green fleet. */
export function finalState(strategy: StrategyName, options: Pick<StrategyOptions, 'keepOld' | 'preview'> = {}): 'committed' | 'probation' {
  if (strategy === 'blue-green') return options.keepOld || options.preview ? 'probation' : 'committed';
  return strategy === 'canary' || strategy === 'ab' ? 'probation' : 'committed';
}

/** Routes that send `percent` of unpinned traffic (and the cohorts) to `release`, the rest evenly to `others`. */
export function canaryRoutes(
  others: readonly string[],
  release: number,
  percent: number,
  cohort: readonly string[],
  sticky = false,
): Routes {
  return {
    weights: {
      ...Object.fromEntries(others.map((r) => [r, (100 - percent) / Math.max(1, others.length)])),
      [String(release)]: percent,
    },
    cohort: { release, names: [...cohort] },
    ...(sticky && { sticky: true }),
  };
}

/**
 * The steps of a strategy, generated as it goes (later steps depend on what earlier ones
 * started). `old` are the instances serving now.
 *  - recreate: start the new instances, then retire the old ones.
 *  - blue-green: start N new, switch all traffic at once; the old fleet is retired, or kept idle
 *    for probation (`keepOld`); with `preview` the new fleet only answers on the preview listeners.
 *  - rolling: per batch, start k new (surge; nothing is taken down first), then retire k old.
 *  - canary: start one new instance; a share and the named cohorts go to it.
 *  - ab: start N new beside the old; traffic splits 50/50, sticky per x-bake-key.
 */
export async function* strategySteps(
  strategy: StrategyName,
  ctx: DeployContext,
  old: Instance[],
  options: StrategyOptions,
): AsyncGenerator<Step> {
  const started: Instance[] = [];
  const release = String(ctx.target.release);
  const oldReleases = [...new Set(old.map((i) => String(i.release)))];
  const keepOnOld = { weights: Object.fromEntries(oldReleases.map((r) => [r, 1])) };
  switch (strategy) {
    case 'recreate':
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      yield routeStep(ctx, 'route to every instance', {});
      for (const instance of old) yield retireStep(ctx, instance);
      return;
    case 'blue-green':
      // Pin traffic to the old release while the new one comes up beside it.
      if (oldReleases.length > 0) yield routeStep(ctx, 'keep traffic on the running release', keepOnOld);
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      if (options.preview) {
        yield routeStep(ctx, `preview release ${release} on the preview listeners`, { ...keepOnOld, preview: ctx.target.release });
        return;
      }
      yield routeStep(ctx, `switch all traffic to release ${release}`, { weights: { [release]: 1 } });
      if (options.keepOld && old.length > 0) return;
      for (const instance of old) yield retireStep(ctx, instance);
      yield routeStep(ctx, 'route to every instance', {});
      return;
    case 'rolling': {
      yield routeStep(ctx, 'route to every healthy instance', {});
      const remaining = [...old];
      let replaced = 0;
      while (replaced < ctx.replicas || remaining.length > 0) {
        const batch = remaining.splice(0, options.batch);
        const add = Math.min(options.batch, ctx.replicas - replaced);
        for (let i = 0; i < add; i++) yield startStep(ctx, ctx.target, started);
        replaced += add;
        for (const instance of batch) yield retireStep(ctx, instance);
        if (add === 0 && batch.length === 0) break;
      }
      return;
    }
    case 'canary': {
      const percent = options.percent ?? 10;
      yield routeStep(ctx, 'keep traffic on the running release', keepOnOld);
      yield startStep(ctx, ctx.target, started);
      yield routeStep(
        ctx,
        `send ${percent}% and cohorts [${options.cohort.join(', ')}] to release ${release}`,
        canaryRoutes(oldReleases, ctx.target.release, percent, options.cohort),
      );
      return;
    }
    case 'ab': {
      yield routeStep(ctx, 'keep traffic on the running release', keepOnOld);
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      yield routeStep(
        ctx,
        'split traffic 50/50, sticky per x-bake-key',
        canaryRoutes(oldReleases, ctx.target.release, 50, options.cohort, true),
      );
      return;
    }
  }
}

/**
 * Finishing a canary or A/B: the release on probation (`ctx.target`) gets `ctx.replicas`
 * instances, takes all traffic, and every other instance (`instances` are those serving now) is
 * retired. Undone like a deploy: started instances go, retired ones of `ctx.previous` come back.
 */
export function promoteSteps(ctx: DeployContext, instances: readonly Instance[]): Step[] {
  const release = ctx.target.release;
  const mine = instances.filter((i) => i.release === release);
  const others = instances.filter((i) => i.release !== release);
  const started: Instance[] = [];
  const steps: Step[] = [];
  for (let i = mine.length; i < ctx.replicas; i++) steps.push(startStep(ctx, ctx.target, started));
  steps.push(routeStep(ctx, `all traffic to release ${release}`, { weights: { [String(release)]: 1 } }));
  for (const instance of others) steps.push(retireStep(ctx, instance));
  steps.push(routeStep(ctx, 'route to every instance', {}));
  return steps;
}

/**
 * Withdrawing the release on probation (`ctx.target`): traffic goes back to the other releases,
 * its instances are drained and retired, and the routes cover every instance again. Undone by
 * starting its instances again and putting the routes back.
 */
export function withdrawSteps(ctx: DeployContext, instances: readonly Instance[]): Step[] {
  const release = ctx.target.release;
  const others = [...new Set(instances.filter((i) => i.release !== release).map((i) => String(i.release)))];
  const steps: Step[] = [];
  if (others.length > 0)
    steps.push(routeStep(ctx, 'keep traffic on the other releases', { weights: Object.fromEntries(others.map((r) => [r, 1])) }));
  for (const instance of instances.filter((i) => i.release === release)) steps.push(retireStep(ctx, instance, ctx.target));
  steps.push(routeStep(ctx, 'route to every instance', {}));
  return steps;
}
