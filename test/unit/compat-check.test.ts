import { describe, expect, it } from 'vitest';
import { checkCompatibility, describeProblem } from '../../src/compat/check.js';
import type { DeclarationLookup, Declarations } from '../../src/compat/declarations.js';
import { compatibilityWindows } from '../../src/compat/windows.js';

// The compatibility check over tables of vectors. The shop image holds orders (a provider) and web
// (its consumer); each version declares what it provides or requires.
const DECLARED: Record<string, Record<number, Declarations>> = {
  orders: {
    1: { provides: { 'orders-api': 1 } },
    2: { provides: { 'orders-api': 2 } },
    3: { provides: { 'orders-api': 2, 'stock-api': 1 } },
    4: {},
  },
  web: {
    1: { requires: { 'orders-api': '^1' } },
    2: { requires: { 'orders-api': '>=1 <3' } },
    3: { requires: { 'orders-api': '^2' } },
    4: { requires: { 'orders-api': '^2', 'stock-api': '1.x' } },
  },
};
const declared: DeclarationLookup = (service, version) => DECLARED[service]?.[version];

/** Every problem of a rolling upgrade (2 replicas, batch 1) from `old` to `next`, as `consumer → provider`. */
function rolling(old: Record<string, number>, next: Record<string, number>): string[] {
  return checkCompatibility(compatibilityWindows('rolling', [old], next, 2, 1), declared).map(
    (p) => `web v${p.consumer.version} → ${p.provider ? `${p.provider.service} v${p.provider.version}` : 'none'}`,
  );
}

describe('checkCompatibility', () => {
  it.each<[string, Record<string, number>, Record<string, number>, string[]]>([
    ['a provider change every running consumer accepts', { orders: 1, web: 2 }, { orders: 2, web: 2 }, []],
    ['a consumer that accepts both majors first', { orders: 1, web: 1 }, { orders: 1, web: 2 }, []],
    ['a new provider major that the running consumer refuses', { orders: 1, web: 1 }, { orders: 2, web: 1 }, ['web v1 → orders v2']],
    [
      'both at once: consistent at the end, broken while they mix',
      { orders: 1, web: 1 },
      { orders: 2, web: 3 },
      ['web v1 → orders v2', 'web v3 → orders v1'],
    ],
    ['a consumer of the new major while the old provider still runs', { orders: 1, web: 2 }, { orders: 2, web: 3 }, ['web v3 → orders v1']],
    [
      'a provider version that stopped providing it (and, at the end, nothing provides it)',
      { orders: 3, web: 3 },
      { orders: 4, web: 3 },
      ['web v3 → orders v4', 'web v3 → none'],
    ],
    ['nothing running provides a required interface', { orders: 2, web: 3 }, { orders: 2, web: 4 }, ['web v4 → none']],
    ['versions that declare nothing never fail', { other: 1 }, { other: 2 }, []],
  ])('%s', (_name, old, next, expected) => {
    expect(rolling(old, next)).toEqual(expected);
  });

  it('judges every window of a rolling upgrade: mixed ones fail, the final one passes', () => {
    const windows = compatibilityWindows('rolling', [{ orders: 1, web: 1 }], { orders: 2, web: 3 }, 2, 1);
    const perWindow = windows.map((w) => [w.name, checkCompatibility([w], declared).map(describeProblem)]);
    expect(perWindow).toEqual([
      [
        'mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)',
        [
          'web v1 requires orders-api ^1, but orders v2 provides orders-api 2',
          'web v3 requires orders-api ^2, but orders v1 provides orders-api 1',
        ],
      ],
      [
        'mid-rolling upgrade: 1 new and 1 old running (1 of 2 replaced)',
        [
          'web v1 requires orders-api ^1, but orders v2 provides orders-api 2',
          'web v3 requires orders-api ^2, but orders v1 provides orders-api 1',
        ],
      ],
      [
        'mid-rolling upgrade: 2 new and 1 old running (1 of 2 replaced)',
        [
          'web v1 requires orders-api ^1, but orders v2 provides orders-api 2',
          'web v3 requires orders-api ^2, but orders v1 provides orders-api 1',
        ],
      ],
      ['after the rollout: 2 new instance(s) only', []],
    ]);
    // Over all windows at once, each problem is reported once, with the first window and all of them.
    const [first] = checkCompatibility(windows, declared);
    expect(first?.window).toBe('mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)');
    expect(first?.windows).toHaveLength(3);
  });

  it('finds a canary that the old fleet cannot call, though the final state is fine', () => {
    const windows = compatibilityWindows('canary', [{ orders: 1, web: 1 }], { orders: 2, web: 3 }, 2, 1);
    const problems = checkCompatibility(windows, declared);
    expect(problems.map((p) => p.window)).toEqual([
      'canary live: 1 new instance beside the old fleet (2)',
      'canary live: 1 new instance beside the old fleet (2)',
    ]);
    expect(checkCompatibility(windows.slice(-1), declared)).toEqual([]);
  });

  it('counts the other images of the environment as running throughout', () => {
    const windows = compatibilityWindows('blue-green', [{ web: 2 }], { web: 3 }, 1, 1, { others: [{ orders: 1 }] });
    expect(checkCompatibility(windows, declared).map(describeProblem)).toEqual([
      'web v3 requires orders-api ^2, but orders v1 provides orders-api 1',
    ]);
  });

  it('judges identical windows once: 200 services × 20 interfaces stay fast', () => {
    const big: Record<string, Record<number, Declarations>> = {};
    const vector = (v: number) => Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`s${i}`, v]));
    for (let i = 0; i < 200; i++) {
      const provides = Object.fromEntries(Array.from({ length: 20 }, (_, j) => [`i${i}-${j}`, 2]));
      const requires = Object.fromEntries(Array.from({ length: 20 }, (_, j) => [`i${(i + 1) % 200}-${j}`, '>=1 <3']));
      big[`s${i}`] = { 1: { provides, requires }, 2: { provides, requires } };
    }
    const windows = compatibilityWindows('rolling', [vector(1)], vector(2), 4, 1);
    const started = performance.now();
    expect(checkCompatibility(windows, (s, v) => big[s]?.[v])).toEqual([]);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
