import type { StrategyName } from '../config/types.js';
import type { Instance } from '../router/route-table.js';
import { retireStep, routeStep, startStep, type DeployContext } from './operations.js';
import type { Step } from './steps.js';

export interface StrategyOptions {
  batch: number;
  percent?: number;
  cohort: string[];
  probationSeconds: number;
}

/** The release state a strategy leaves behind: canary and A/B wait for promote or rollback. */
export function finalState(strategy: StrategyName): 'committed' | 'probation' {
  return strategy === 'canary' || strategy === 'ab' ? 'probation' : 'committed';
}

/**
 * The steps of a strategy, generated as it goes (later steps depend on what earlier ones
 * started). `old` are the instances serving now.
 *  - recreate: start the new instances, then retire the old ones.
 *  - blue-green: start N new, switch all traffic at once, keep the old through probation, retire.
 *  - rolling: per batch, start k new (surge; nothing is taken down first), then retire k old.
 *  - canary: start one new instance; a share and the named cohorts go to it.
 *  - ab: start N new beside the old; traffic splits 50/50, sticky per x-bake-key.
 */
export async function* strategySteps(strategy: StrategyName, ctx: DeployContext, old: Instance[], options: StrategyOptions): AsyncGenerator<Step> {
  const started: Instance[] = [];
  const release = String(ctx.target.release);
  const oldReleases = [...new Set(old.map((i) => String(i.release)))];
  switch (strategy) {
    case 'recreate':
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      yield routeStep(ctx, 'route to every instance', {});
      for (const instance of old) yield retireStep(ctx, instance);
      return;
    case 'blue-green':
      // Pin traffic to the old release while the new one comes up beside it.
      if (oldReleases.length > 0) yield routeStep(ctx, 'keep traffic on the running release', { weights: Object.fromEntries(oldReleases.map((r) => [r, 1])) });
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      yield routeStep(ctx, `switch all traffic to release ${release}`, { weights: { [release]: 1 } });
      if (options.probationSeconds > 0) yield probationStep(ctx, started, options.probationSeconds);
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
      yield routeStep(ctx, 'keep traffic on the running release', { weights: Object.fromEntries(oldReleases.map((r) => [r, 1])) });
      yield startStep(ctx, ctx.target, started);
      yield routeStep(ctx, `send ${percent}% and cohorts [${options.cohort.join(', ')}] to release ${release}`, {
        weights: { ...Object.fromEntries(oldReleases.map((r) => [r, (100 - percent) / Math.max(1, oldReleases.length)])), [release]: percent },
        cohort: { release: ctx.target.release, names: options.cohort },
      });
      return;
    }
    case 'ab': {
      const percent = options.percent ?? 50;
      yield routeStep(ctx, 'keep traffic on the running release', { weights: Object.fromEntries(oldReleases.map((r) => [r, 1])) });
      for (let i = 0; i < ctx.replicas; i++) yield startStep(ctx, ctx.target, started);
      yield routeStep(ctx, `split traffic ${100 - percent}/${percent}, sticky per x-bake-key`, {
        weights: { ...Object.fromEntries(oldReleases.map((r) => [r, (100 - percent) / Math.max(1, oldReleases.length)])), [release]: percent },
        cohort: { release: ctx.target.release, names: options.cohort },
        sticky: true,
      });
      return;
    }
  }
}

/** Keeps the old instances while the new ones prove healthy for a while; fails if they do not. */
function probationStep(ctx: DeployContext, started: Instance[], seconds: number): Step {
  return {
    name: `probation for ${seconds} s`,
    async run() {
      const deadline = Date.now() + seconds * 1000;
      while (Date.now() < deadline) {
        const state = await ctx.router.state();
        const sick = state.instances.filter((i) => started.some((s) => s.id === i.id) && !i.healthy);
        if (sick.length > 0) throw new Error(`instance ${sick[0]?.id} of release ${ctx.target.release} became unhealthy during probation`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
  };
}
