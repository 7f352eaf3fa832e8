import type { ReleaseFigures } from '../router/release-stats.js';

/**
 * Judging one canary step from the router's own counts, as a pure function (the shape of Argo
 * Rollouts' analysis and Kayenta's judge, much simplified). Honest with little data: too few
 * requests is inconclusive, never a pass; errors on the canary against none on the stable release
 * are not a pass either.
 */

/** The abort rule of a canary, from bake.yaml's `canary.analysis` (defaults filled in). */
export interface AnalysisRule {
  /** Fewer canary requests than this in a step: inconclusive (default 50). */
  minRequests: number;
  /** A canary error rate above this percentage fails the step (default 5). */
  maxErrorPercent: number;
  /** When set: a canary p99 above this percentage of the stable p99 fails the step (150 = 1.5×). */
  maxP99Percent?: number;
}

export const DEFAULT_RULE: AnalysisRule = { minRequests: 50, maxErrorPercent: 5 };

export interface Judgement {
  verdict: 'pass' | 'fail' | 'inconclusive';
  /** The rule that decided a fail or an inconclusive, e.g. "error rate 20.0% > 5%". */
  rule?: string;
  message: string;
}

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`;

/** The verdict on a step: fail by the first rule that fires, else inconclusive or pass. */
export function judgeStep(canary: ReleaseFigures, stable: ReleaseFigures, rule: AnalysisRule): Judgement {
  const seen = `${canary.requests} request(s), ${canary.errors} error(s), p99 ${canary.p99 ?? '–'} ms on the canary; ${stable.requests} request(s), ${stable.errors} error(s), p99 ${stable.p99 ?? '–'} ms on stable`;
  // An error rate over the limit fails even on a small sample: that many errors are already too many.
  if (canary.requests > 0 && canary.errorRate * 100 > rule.maxErrorPercent && canary.errors >= Math.min(rule.minRequests, 5)) {
    const fired = `error rate ${pct(canary.errorRate)} > ${rule.maxErrorPercent}%`;
    return { verdict: 'fail', rule: fired, message: `${fired} (${seen})` };
  }
  if (canary.requests < rule.minRequests) {
    const fired = `only ${canary.requests} canary request(s), fewer than the minimum sample of ${rule.minRequests}`;
    return { verdict: 'inconclusive', rule: fired, message: `${fired}: not judged (${seen})` };
  }
  if (rule.maxP99Percent !== undefined) {
    if (stable.requests < rule.minRequests || stable.p99 === null || canary.p99 === null) {
      const fired = `only ${stable.requests} stable request(s): no p99 to compare against`;
      return { verdict: 'inconclusive', rule: fired, message: `${fired} (${seen})` };
    }
    const limit = (stable.p99 * rule.maxP99Percent) / 100;
    // Sub-millisecond p99s jitter by more than any ratio: a 1 ms floor keeps the rule meaningful.
    if (canary.p99 > Math.max(limit, 1)) {
      const fired = `p99 ${canary.p99} ms > ${rule.maxP99Percent}% of stable's ${stable.p99} ms`;
      return { verdict: 'fail', rule: fired, message: `${fired} (${seen})` };
    }
  }
  if (canary.errors > 0 && stable.errors === 0) {
    const fired = `${canary.errors} error(s) on the canary against none on stable`;
    return { verdict: 'inconclusive', rule: fired, message: `${fired}: not a pass (${seen})` };
  }
  return { verdict: 'pass', message: `passed (${seen})` };
}
