import { describe, expect, it } from 'vitest';
import { candidates, hashUnit, pick, type Instance, type Routes } from '../../src/router/route-table.js';

const inst = (id: string, release: number, extra: Partial<Instance> = {}): Instance => ({
  id,
  release,
  vector: { catalog: release },
  ports: { catalog: 1000 + release },
  health: {},
  healthy: true,
  draining: false,
  inflight: 0,
  ...extra,
});

const fleet = [inst('a1', 1), inst('a2', 1), inst('b1', 2)];
const ids = (list: Instance[]) => list.map((i) => i.id).sort();

describe('candidates', () => {
  it.each<[string, Instance[], Routes, Partial<Parameters<typeof candidates>[2]>, string[]]>([
    ['no routes: every healthy instance', fleet, {}, {}, ['a1', 'a2', 'b1']],
    [
      'unhealthy and draining instances are skipped',
      [inst('a1', 1, { healthy: false }), inst('a2', 1, { draining: true }), inst('b1', 2)],
      {},
      {},
      ['b1'],
    ],
    ['a pinned client stays on its release', fleet, { weights: { '2': 1 } }, { pinRelease: 1 }, ['a1', 'a2']],
    ['a pin to a release that is gone falls back to the routes', fleet, { weights: { '2': 1 } }, { pinRelease: 9 }, ['b1']],
    ['blue/green: all traffic to one release', fleet, { weights: { '2': 1 } }, {}, ['b1']],
    ['a cohort goes to the canary', fleet, { weights: { '1': 100 }, cohort: { release: 2, names: ['beta'] } }, { cohort: 'beta' }, ['b1']],
    [
      'other cohorts follow the weights',
      fleet,
      { weights: { '1': 100 }, cohort: { release: 2, names: ['beta'] } },
      { cohort: 'alpha' },
      ['a1', 'a2'],
    ],
    ['weights pick by the random draw', fleet, { weights: { '1': 90, '2': 10 } }, { random: 0.95 }, ['b1']],
    ['weights of releases with no instance are ignored', [inst('a1', 1)], { weights: { '1': 10, '2': 90 } }, { random: 0.99 }, ['a1']],
    ['instances without the service are skipped', [inst('a1', 1, { ports: {} }), inst('b1', 2)], {}, {}, ['b1']],
  ])('%s', (_name, instances, routes, facts, expected) => {
    expect(ids(candidates(instances, routes, { key: 'k', random: 0.1, ...facts }, 'catalog'))).toEqual(expected);
  });

  it('keeps an A/B user on one side: sticky by key', () => {
    const routes: Routes = { weights: { '1': 50, '2': 50 }, sticky: true };
    for (const key of ['alice', 'bob', 'carol', 'dave']) {
      const first = ids(candidates(fleet, routes, { key, random: 0 }, 'catalog'));
      for (let i = 0; i < 20; i++) expect(ids(candidates(fleet, routes, { key, random: Math.random() }, 'catalog'))).toEqual(first);
    }
    const sides = new Set(
      ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'].map((key) =>
        ids(candidates(fleet, routes, { key, random: 0 }, 'catalog')).join(),
      ),
    );
    expect(sides.size).toBe(2);
  });
});

describe('pick', () => {
  it('prefers the least loaded instance and rotates among equals', () => {
    expect(pick([inst('a', 1, { inflight: 3 }), inst('b', 1, { inflight: 1 })], 0)?.id).toBe('b');
    expect([0, 1, 2, 3].map((t) => pick([inst('a', 1), inst('b', 1)], t)?.id)).toEqual(['a', 'b', 'a', 'b']);
    expect(pick([], 0)).toBeUndefined();
  });

  it('hashes keys into [0, 1)', () => {
    for (const key of ['', 'a', 'user-42']) expect(hashUnit(key)).toBeGreaterThanOrEqual(0);
    expect(hashUnit('x')).toBe(hashUnit('x'));
  });
});
