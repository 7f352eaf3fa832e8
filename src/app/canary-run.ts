import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RULE, judgeStep, type AnalysisRule } from '../deploy/canary-analysis.js';
import { CanaryFailedError, RolloutInterruptedError } from '../deploy/rollout-errors.js';
import { canaryRoutes } from '../deploy/strategies.js';
import type { ReleaseRecord, RolloutProgress } from '../manifest/model.js';
import { setReleaseState } from '../release/release-state.js';
import { NO_FIGURES, type ReleaseFigures } from '../router/release-stats.js';
import type { AppContext } from './context.js';
import { liveAndPrevious, type EnvironmentRuntime } from './environment-runtime.js';
import { promoteRelease, stopRecord, withdrawRelease } from './release-moves.js';

/** Seconds a canary step lasts when bake.yaml gives it no `pause`. */
export const DEFAULT_STEP_PAUSE = 30;

/** Where a canary ramp ended: promoted, or paused on probation (inconclusive). A failure throws. */
export interface CanaryOutcome {
  state: 'committed' | 'probation';
  rollout?: RolloutProgress;
}

/** The abort rule of an environment: bake.yaml's `canary.analysis` over the defaults. */
export function analysisRule(rt: EnvironmentRuntime): AnalysisRule {
  const a = rt.env.canary.analysis ?? {};
  return {
    minRequests: a.minRequests ?? DEFAULT_RULE.minRequests,
    maxErrorPercent: a.maxErrorPercent ?? DEFAULT_RULE.maxErrorPercent,
    ...(a.maxP99Percent !== undefined && { maxP99Percent: a.maxP99Percent }),
  };
}

/**
 * Ramps a canary (already on probation, one instance up) through the environment's `canary.steps`
 * from step `from`: each step sets its share, restarts the router's counts, waits its pause and is
 * judged. A failing step withdraws the canary, records the rule and the figures, and throws
 * CanaryFailedError; an inconclusive one pauses the rollout (recorded) and returns; passing the last
 * step promotes. SIGINT/SIGTERM during a pause leaves it paused and recorded, then throws
 * RolloutInterruptedError (resumable with `bake deploy --resume`).
 */
export async function runCanarySteps(ctx: AppContext, rt: EnvironmentRuntime, live: ReleaseRecord, from: number): Promise<CanaryOutcome> {
  const steps = rt.env.canary.steps ?? [];
  const rule = analysisRule(rt);
  const note = (p: RolloutProgress, kind: 'step' | 'state', message: string) =>
    setReleaseState(rt.ws.dir, rt.env.name, live.id, 'probation', { env: ctx.env, kind, note: message, patch: { rollout: p } });
  for (let i = from; i < steps.length; i++) {
    const step = steps[i];
    if (!step) break;
    if (step.percent >= 100) break;
    const others = [...new Set((await rt.router.state()).instances.filter((x) => x.release !== live.id).map((x) => String(x.release)))];
    await rt.router.setRoutes(canaryRoutes(others, live.id, step.percent, rt.env.canary.cohort));
    await rt.router.resetStats();
    const progress: RolloutProgress = { step: i, percent: step.percent, progressAt: new Date().toISOString() };
    await note(progress, 'step', `canary step ${i + 1}/${steps.length}: ${step.percent}% of traffic`);
    ctx.progress({ kind: 'step', message: `${rt.env.name}: canary step ${i + 1}/${steps.length} at ${step.percent}%` });
    try {
      await sleep((step.pause ?? DEFAULT_STEP_PAUSE) * 1000, undefined, ctx.signal ? { signal: ctx.signal } : {});
    } catch {
      const at = new Date().toISOString();
      const message = `interrupted during canary step ${i + 1}; bake deploy --resume --env ${rt.env.name} continues it, bake rollback withdraws it`;
      await note({ ...progress, paused: { reason: 'interrupted', message, at } }, 'state', message);
      throw new RolloutInterruptedError(`the canary of release ${live.id} in ${rt.env.name} was ${message}`, live.id, true);
    }
    const figures = await rt.router.stats();
    const canary = figures[String(live.id)] ?? NO_FIGURES;
    const stable = merge(others.map((r) => figures[r] ?? NO_FIGURES));
    const judged = judgeStep(canary, stable, rule);
    const at = new Date().toISOString();
    const analysis = { verdict: judged.verdict, canary, stable, message: judged.message, at };
    if (judged.verdict === 'fail') {
      const message = `canary step ${i + 1} (${step.percent}%) failed: ${judged.message}`;
      await withdrawRelease(ctx, rt, live, {
        note: message,
        stopped: stopRecord(ctx, { reason: 'analysis', rule: judged.rule ?? '', figures: { canary, stable }, message }),
      });
      throw new CanaryFailedError(`release ${live.id} in ${rt.env.name} withdrawn: ${message}`, live.id, judged.rule ?? '', {
        canary,
        stable,
      });
    }
    if (judged.verdict === 'inconclusive') {
      const message = `canary step ${i + 1} (${step.percent}%) is inconclusive: ${judged.message}. Paused: bake promote, bake deploy --resume or bake abort`;
      const paused: RolloutProgress = { ...progress, analysis, paused: { reason: 'inconclusive', message, at } };
      await note(paused, 'state', message);
      return { state: 'probation', rollout: paused };
    }
    await note({ ...progress, analysis, progressAt: at }, 'step', `canary step ${i + 1} passed: ${judged.message}`);
  }
  const { previous } = await liveAndPrevious(rt.ws.dir, rt.env.name, live.image);
  await promoteRelease(ctx, rt, live, previous, { note: `every canary step passed (${steps.map((s) => `${s.percent}%`).join(' → ')})` });
  return { state: 'committed' };
}

/** The stable side's figures: every other release's counts together (percentiles: the worst one). */
function merge(list: readonly ReleaseFigures[]): ReleaseFigures {
  const requests = list.reduce((n, f) => n + f.requests, 0);
  const errors = list.reduce((n, f) => n + f.errors, 0);
  const worst = (key: 'p50' | 'p99') => list.reduce<number | null>((m, f) => (f[key] === null ? m : Math.max(m ?? 0, f[key] ?? 0)), null);
  return { requests, errors, errorRate: requests === 0 ? 0 : errors / requests, p50: worst('p50'), p99: worst('p99') };
}
