import type { StrategyName } from '../config/names.js';
import type { VersionVector } from '../manifest/model.js';

/**
 * The windows of a rollout: every mix of version vectors that will run side by side while a
 * strategy replaces the old fleet, as plain data the compatibility check reads. A consumer reaches
 * any running instance of its provider through the router, so a window is judged as a whole.
 */

/** How a release reaches its instances: a deploy strategy, an in-place upgrade, or a hand-off to someone else's deploy step. */
export type RolloutKind = StrategyName | 'in-place' | 'hand-off';

/** Instances running one vector in a window: the release being left, the new one, or another image's. */
export interface RunningGroup {
  role: 'old' | 'new' | 'other';
  vector: VersionVector;
  instances: number;
}

export interface CompatibilityWindow {
  /** Says when, for the refusal: "mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)". */
  name: string;
  running: RunningGroup[];
}

export interface WindowOptions {
  /** Blue/green keeps the old fleet up, idle, for a probation. */
  probation?: boolean;
  /** Instances the old fleet has now (default: `replicas`). */
  oldInstances?: number;
  /** Vectors of the environment's other images, live throughout. */
  others?: readonly VersionVector[];
}

/**
 * The windows a rollout of `newVector` over `liveVectors` creates, in order, ending with the final
 * state (only the new release). Rolling follows the strategy's own order — per batch, `batch` new
 * instances start before `batch` old ones retire — and yields a window after every batch of starts
 * and of retirements; blue/green has the fleets side by side (and a probation), a canary one new
 * instance beside the old fleet and then its promotion, A/B both fleets. Nothing live: the final
 * window only. Pure.
 */
export function compatibilityWindows(
  strategy: RolloutKind,
  liveVectors: readonly VersionVector[],
  newVector: VersionVector,
  replicas: number,
  batch: number,
  options: WindowOptions = {},
): CompatibilityWindow[] {
  const others: RunningGroup[] = (options.others ?? []).map((vector) => ({ role: 'other', vector, instances: 1 }));
  const mix = (name: string, old: number, fresh: number): CompatibilityWindow => ({
    name,
    running: [
      ...(old > 0 ? liveVectors.map((vector): RunningGroup => ({ role: 'old', vector, instances: old })) : []),
      ...(fresh > 0 ? [{ role: 'new' as const, vector: newVector, instances: fresh }] : []),
      ...others,
    ],
  });
  const final = mix(`after the rollout: ${replicas} new instance(s) only`, 0, replicas);
  const n = Math.max(1, replicas);
  const oldCount = options.oldInstances ?? n;
  if (liveVectors.length === 0) return [final];
  const windows: CompatibilityWindow[] = [];
  switch (strategy) {
    case 'recreate':
      for (let k = 1; k <= n; k++) windows.push(mix(`recreate: ${k} of ${n} new instance(s) started beside the old fleet`, oldCount, k));
      break;
    case 'rolling': {
      const step = Math.max(1, batch);
      let old = oldCount;
      let started = 0;
      while (started < n || old > 0) {
        const add = Math.min(step, n - started);
        const retire = Math.min(step, old);
        started += add;
        if (add > 0 && old > 0)
          windows.push(
            mix(`mid-rolling upgrade: ${started} new and ${old} old running (${oldCount - old} of ${oldCount} replaced)`, old, started),
          );
        old -= retire;
        if (retire > 0 && old > 0)
          windows.push(
            mix(`mid-rolling upgrade: ${started} new and ${old} old running (${oldCount - old} of ${oldCount} replaced)`, old, started),
          );
        if (add === 0 && retire === 0) break;
      }
      break;
    }
    case 'blue-green':
      windows.push(mix(`blue-green: the new fleet (${n}) up beside the old (${oldCount}), before the switch`, oldCount, n));
      if (options.probation) windows.push(mix(`blue-green probation: the old fleet kept up, idle, beside the new`, oldCount, n));
      break;
    case 'canary':
      windows.push(mix(`canary live: 1 new instance beside the old fleet (${oldCount})`, oldCount, 1));
      if (n > 1) windows.push(mix(`canary promotion: the new fleet (${n}) completed before the old one retires`, oldCount, n));
      break;
    case 'ab':
      windows.push(mix(`A/B: the new fleet (${n}) beside the old (${oldCount}), traffic split between them`, oldCount, n));
      break;
    case 'in-place':
      for (let k = 1; k < oldCount; k++) windows.push(mix(`in-place upgrade: ${k} of ${oldCount} instance(s) upgraded`, oldCount - k, k));
      break;
    case 'hand-off':
      windows.push(mix('hand-off: old and new side by side while the deploy step replaces the old', oldCount, n));
      break;
  }
  windows.push(final);
  return windows;
}
