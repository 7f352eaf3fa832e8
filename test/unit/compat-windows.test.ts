import { describe, expect, it } from 'vitest';
import { compatibilityWindows, type CompatibilityWindow, type RolloutKind } from '../../src/compat/windows.js';

// The windows of each strategy: which vectors run side by side, and how many instances of each,
// in the order the strategy creates them. Old release: v1 of s; new: v2.
const OLD = { s: 1 };
const NEW = { s: 2 };

/** A window as `name: old×n new×m`, for tables. */
function shape(w: CompatibilityWindow): string {
  const count = (role: string) => w.running.filter((g) => g.role === role).reduce((n, g) => n + g.instances, 0);
  return `${w.name} | old×${count('old')} new×${count('new')}`;
}

describe('compatibilityWindows', () => {
  it.each<[string, RolloutKind, number, number, { probation?: boolean; oldInstances?: number }, string[]]>([
    [
      'rolling 2 replicas, batch 1: every window of the upgrade',
      'rolling',
      2,
      1,
      {},
      [
        'mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced) | old×2 new×1',
        'mid-rolling upgrade: 1 new and 1 old running (1 of 2 replaced) | old×1 new×1',
        'mid-rolling upgrade: 2 new and 1 old running (1 of 2 replaced) | old×1 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'rolling 3 replicas, batch 2',
      'rolling',
      3,
      2,
      {},
      [
        'mid-rolling upgrade: 2 new and 3 old running (0 of 3 replaced) | old×3 new×2',
        'mid-rolling upgrade: 2 new and 1 old running (2 of 3 replaced) | old×1 new×2',
        'mid-rolling upgrade: 3 new and 1 old running (2 of 3 replaced) | old×1 new×3',
        'after the rollout: 3 new instance(s) only | old×0 new×3',
      ],
    ],
    [
      'rolling that scales 3 old down to 1 new',
      'rolling',
      1,
      1,
      { oldInstances: 3 },
      [
        'mid-rolling upgrade: 1 new and 3 old running (0 of 3 replaced) | old×3 new×1',
        'mid-rolling upgrade: 1 new and 2 old running (1 of 3 replaced) | old×2 new×1',
        'mid-rolling upgrade: 1 new and 1 old running (2 of 3 replaced) | old×1 new×1',
        'after the rollout: 1 new instance(s) only | old×0 new×1',
      ],
    ],
    [
      'blue-green without probation',
      'blue-green',
      2,
      1,
      {},
      [
        'blue-green: the new fleet (2) up beside the old (2), before the switch | old×2 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'blue-green with probation: both fleets again while the old one is kept',
      'blue-green',
      2,
      1,
      { probation: true },
      [
        'blue-green: the new fleet (2) up beside the old (2), before the switch | old×2 new×2',
        'blue-green probation: the old fleet kept up, idle, beside the new | old×2 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'canary: one new instance live, then the promotion',
      'canary',
      2,
      1,
      {},
      [
        'canary live: 1 new instance beside the old fleet (2) | old×2 new×1',
        'canary promotion: the new fleet (2) completed before the old one retires | old×2 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'A/B: both fleets split the traffic',
      'ab',
      2,
      1,
      {},
      [
        'A/B: the new fleet (2) beside the old (2), traffic split between them | old×2 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'recreate: the new instances start before the old go',
      'recreate',
      2,
      1,
      {},
      [
        'recreate: 1 of 2 new instance(s) started beside the old fleet | old×2 new×1',
        'recreate: 2 of 2 new instance(s) started beside the old fleet | old×2 new×2',
        'after the rollout: 2 new instance(s) only | old×0 new×2',
      ],
    ],
    [
      'in-place upgrade, one instance at a time',
      'in-place',
      3,
      1,
      {},
      [
        'in-place upgrade: 1 of 3 instance(s) upgraded | old×2 new×1',
        'in-place upgrade: 2 of 3 instance(s) upgraded | old×1 new×2',
        'after the rollout: 3 new instance(s) only | old×0 new×3',
      ],
    ],
    [
      'a hand-off to another deploy step',
      'hand-off',
      1,
      1,
      {},
      [
        'hand-off: old and new side by side while the deploy step replaces the old | old×1 new×1',
        'after the rollout: 1 new instance(s) only | old×0 new×1',
      ],
    ],
  ])('%s', (_name, strategy, replicas, batch, options, expected) => {
    expect(compatibilityWindows(strategy, [OLD], NEW, replicas, batch, options).map(shape)).toEqual(expected);
  });

  it('has only the final window when nothing runs yet', () => {
    expect(compatibilityWindows('canary', [], NEW, 2, 1).map(shape)).toEqual(['after the rollout: 2 new instance(s) only | old×0 new×2']);
  });

  it('keeps the other images of the environment running in every window', () => {
    const windows = compatibilityWindows('rolling', [OLD], NEW, 2, 1, { others: [{ billing: 4 }] });
    expect(windows.every((w) => w.running.some((g) => g.role === 'other' && g.vector['billing'] === 4))).toBe(true);
    expect(windows.at(-1)?.running.map((g) => g.vector)).toEqual([NEW, { billing: 4 }]);
  });
});
