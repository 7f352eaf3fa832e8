import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE, judgeStep } from '../../src/deploy/canary-analysis.js';
import { sameRelease } from '../../src/release/release.js';
import { percentile, releaseStats, type ReleaseFigures } from '../../src/router/release-stats.js';
import { candidates, type Instance } from '../../src/router/route-table.js';
import { featuresFor, unmet } from '../../src/router/toggle-requirements.js';
import { sha256Digest } from '../../src/util/digest.js';

const fig = (requests: number, errors: number, p99: number | null = 5): ReleaseFigures => ({
  requests,
  errors,
  errorRate: requests === 0 ? 0 : errors / requests,
  p50: p99,
  p99,
});

describe('judging a canary step', () => {
  it.each<[string, ReleaseFigures, ReleaseFigures, Partial<typeof DEFAULT_RULE> & { maxP99Percent?: number }, string, RegExp?]>([
    ['enough clean traffic passes', fig(100, 0), fig(400, 0), {}, 'pass'],
    ['20% errors fails by the error rate', fig(100, 20), fig(400, 0), {}, 'fail', /error rate 20\.0% > 5%/],
    ['too few requests is inconclusive, never a pass', fig(10, 0), fig(400, 0), {}, 'inconclusive', /fewer than the minimum sample of 50/],
    ['no traffic at all is inconclusive', fig(0, 0, null), fig(400, 0), {}, 'inconclusive'],
    ['errors against a clean stable are not a pass', fig(100, 1), fig(400, 0), {}, 'inconclusive', /against none on stable/],
    ['errors on both sides under the limit pass', fig(100, 1), fig(400, 4), {}, 'pass'],
    [
      'a slow p99 fails against stable',
      fig(100, 0, 40),
      fig(400, 0, 10),
      { maxP99Percent: 150 },
      'fail',
      /p99 40 ms > 150% of stable's 10 ms/,
    ],
    ['a p99 within the ratio passes', fig(100, 0, 12), fig(400, 0, 10), { maxP99Percent: 150 }, 'pass'],
    ['a p99 rule with too little stable traffic is inconclusive', fig(100, 0, 12), fig(3, 0, 10), { maxP99Percent: 150 }, 'inconclusive'],
  ])('%s', (_name, canary, stable, rule, verdict, message) => {
    const judged = judgeStep(canary, stable, { ...DEFAULT_RULE, ...rule });
    expect(judged.verdict).toBe(verdict);
    if (message) expect(judged.message).toMatch(message);
  });
});

describe('the router counts', () => {
  it('counts requests, errors and percentiles per release, and resets', () => {
    const stats = releaseStats();
    for (let i = 1; i <= 100; i++) stats.record(2, i, i % 10 === 0);
    stats.record(1, 3, false);
    expect(stats.figures()['2']).toEqual({ requests: 100, errors: 10, errorRate: 0.1, p50: 50, p99: 99 });
    expect(stats.figures()['1']?.requests).toBe(1);
    stats.reset();
    expect(stats.figures()).toEqual({});
  });

  it('counts nothing when counting is off', () => {
    const stats = releaseStats({ counting: false });
    stats.record(1, 1, true);
    expect(stats.figures()).toEqual({});
    expect(percentile([], 0.99)).toBeNull();
  });
});

describe('A/B without a key, toggles by version, light release identity', () => {
  const inst = (id: string, release: number): Instance => ({
    id,
    release,
    vector: { catalog: release },
    ports: { catalog: 1 },
    health: {},
    healthy: true,
    draining: false,
    inflight: 0,
  });
  it('splits keyless clients by share, and keeps keyed ones sticky', () => {
    const fleet = [inst('a', 1), inst('b', 2)];
    const routes = { weights: { '1': 50, '2': 50 }, sticky: true };
    const sides = [0.1, 0.3, 0.6, 0.9].map((random) => candidates(fleet, routes, { random }, 'catalog')[0]?.release);
    expect(sides).toEqual([1, 1, 2, 2]);
    const keyed = [0.1, 0.9].map((random) => candidates(fleet, routes, { key: 'alice', random }, 'catalog')[0]?.release);
    expect(keyed[0]).toBe(keyed[1]);
  });

  it('sends a toggle only to instances that meet its requirements', () => {
    const rules = { search: { requires: [{ service: 'orders', version: 15 }], conflict: 'off' as const } };
    expect(featuresFor({ orders: 15 }, { search: true, plain: true }, rules)).toEqual(['plain', 'search']);
    expect(featuresFor({ orders: 14 }, { search: true, plain: true }, rules)).toEqual(['plain']);
    expect(unmet({ web: 1 }, rules.search.requires)).toEqual([]);
  });

  it('tells light releases apart by their pinned layers, heavy ones by digest', () => {
    const d = sha256Digest('light image');
    const layers = (n: number) => ({ catalog: sha256Digest(`catalog ${n}`) });
    expect(
      sameRelease({ digest: d, level: 'light', serviceLayers: layers(1) }, { digest: d, level: 'light', serviceLayers: layers(2) }),
    ).toBe(false);
    expect(
      sameRelease({ digest: d, level: 'light', serviceLayers: layers(1) }, { digest: d, level: 'light', serviceLayers: layers(1) }),
    ).toBe(true);
    expect(sameRelease({ digest: d, level: 'heavy', serviceLayers: {} }, { digest: d, level: 'heavy', serviceLayers: {} })).toBe(true);
  });
});
