import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/router/route-table.js';
import { blockers, parseRequirements, ToggleBlockedError } from '../../src/router/toggle-requirements.js';
import { toggle } from '../../src/app/toggle.js';
import { UsageError } from '../../src/util/errors.js';

const inst = (id: string, vector: Record<string, number>, extra: Partial<Instance> = {}): Instance => ({
  id,
  release: 1,
  vector,
  ports: {},
  health: {},
  healthy: true,
  draining: false,
  inflight: 0,
  ...extra,
});

describe('parseRequirements', () => {
  it.each([
    ['catalog>=2', [{ service: 'catalog', version: 2 }]],
    [
      'catalog>=2,cart>=13',
      [
        { service: 'catalog', version: 2 },
        { service: 'cart', version: 13 },
      ],
    ],
    [
      ' catalog>=2 , cart>=3',
      [
        { service: 'catalog', version: 2 },
        { service: 'cart', version: 3 },
      ],
    ],
    ['', []],
  ])('%j', (text, expected) => {
    expect(parseRequirements(text)).toEqual(expected);
  });

  it.each(['catalog', 'catalog>2', 'catalog>=x', 'Catalog>=2', 'catalog>=2;rm -rf /'])('refuses %j with the form it wants', (text) => {
    expect(() => parseRequirements(text)).toThrow(UsageError);
    expect(() => parseRequirements(text)).toThrow(/--requires wants SERVICE>=VERSION/);
  });
});

describe('blockers', () => {
  const requires = [{ service: 'catalog', version: 3 }];
  it.each<[string, Instance[], string[]]>([
    ['an instance below the version blocks', [inst('a', { catalog: 2 }), inst('b', { catalog: 3 })], ['a']],
    ['at or above the version does not', [inst('a', { catalog: 3 }), inst('b', { catalog: 4 })], []],
    ['an instance without the service does not', [inst('a', { cart: 1 })], []],
    ['a dead instance does not', [inst('a', { catalog: 1 }, { healthy: false })], []],
    ['a draining instance does not', [inst('a', { catalog: 1 }, { draining: true })], []],
    ['no instances: nothing blocks', [], []],
  ])('%s', (_name, instances, expected) => {
    expect(blockers(instances, requires).map((b) => b.instance)).toEqual(expected);
  });

  it('names each unmet requirement of each instance', () => {
    const list = blockers([inst('a', { catalog: 2, cart: 1 })], [...requires, { service: 'cart', version: 2 }]);
    expect(list).toEqual([
      { instance: 'a', service: 'catalog', have: 2, want: 3 },
      { instance: 'a', service: 'cart', have: 1, want: 2 },
    ]);
  });

  it('is refused with exit 3, the first blocker and the count of the others', () => {
    const error = new ToggleBlockedError('new-search', 'dev', blockers([inst('a', { catalog: 2 }), inst('b', { catalog: 1 })], requires));
    expect(error.exitCode).toBe(3);
    expect(error.kind).toBe('toggle-blocked');
    expect(error.message).toBe('not turning new-search on in dev: instance a still runs catalog v2 (needs >= v3) and 1 more');
    expect(error.details()).toEqual({
      blocking: [
        { instance: 'a', service: 'catalog', have: 2, want: 3 },
        { instance: 'b', service: 'catalog', have: 1, want: 3 },
      ],
    });
  });
});

describe('toggle waits a bounded time', () => {
  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY, 86_401])(
    'refuses a wait of %s seconds before looking at anything',
    async (waitSeconds) => {
      const ctx = { workspace: '/nonexistent', env: {}, progress: () => undefined };
      await expect(
        toggle(ctx, { env: 'dev', feature: 'f', on: true, requires: [{ service: 'catalog', version: 2 }], waitSeconds }),
      ).rejects.toThrow(UsageError);
    },
  );
});
