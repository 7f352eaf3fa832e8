import { describe, expect, it } from 'vitest';
import { interfaceProviders } from '../../src/compat/interface-providers.js';
import { emptyManifest } from '../../src/manifest/model.js';
import type { Instance } from '../../src/router/route-table.js';
import { blockers, featuresFor, ToggleBlockedError, type InterfaceRequirement } from '../../src/router/toggle-requirements.js';

// Toggles that require an interface (`--requires orders-api>=3`): the router knows only vectors,
// so the rule carries which version of which service provides what.
const requirement: InterfaceRequirement = {
  interface: 'orders-api',
  range: '>=3',
  providers: { orders: { 1: 2, 2: 3, 3: null } },
};

function instance(id: string, vector: Record<string, number>): Instance {
  return { id, release: 1, vector, ports: {}, health: {}, healthy: true, draining: false, inflight: 0 };
}

describe('interface requirements of toggles', () => {
  it.each<[string, Record<string, number>, string[]]>([
    ['a provider version with a major in range sees it', { orders: 2, web: 1 }, ['search']],
    ['an older major does not', { orders: 1, web: 1 }, []],
    ['a version that does not provide it does not', { orders: 3 }, []],
    ['a version the table does not know yet does not', { orders: 9 }, []],
    ['an instance without the provider cannot fail it', { web: 4 }, ['search']],
  ])('%s', (_name, vector, features) => {
    expect(featuresFor(vector, { search: true }, { search: { requires: [], conflict: 'off', interfaces: [requirement] } })).toEqual(
      features,
    );
  });

  it('names the instance, the provider version and its major when blocking', () => {
    const blocking = blockers([instance('a', { orders: 2 }), instance('b', { orders: 1 })], [], [requirement]);
    expect(blocking).toEqual([
      { instance: 'b', service: 'orders', have: 1, want: 0, interface: { name: 'orders-api', range: '>=3', major: 2 } },
    ]);
    expect(new ToggleBlockedError('search', 'dev', blocking).message).toBe(
      'not turning search on in dev: instance b still runs orders v1, which provides orders-api 2 (needs orders-api >=3)',
    );
  });

  it('builds the provider table from the versions recorded in the manifest', () => {
    const m = emptyManifest();
    const v = (version: number, provides?: Record<string, number>) => ({
      version,
      digest: 'sha256:0' as const,
      layer: { digest: 'sha256:0' as const, size: 1, mediaType: 'x' },
      install: '/srv/x',
      source: 'git' as const,
      created: '',
      recordedAt: '',
      recordedBy: '',
      generation: 1,
      ...(provides && { provides }),
    });
    m.services['orders'] = { versions: [v(1, { 'orders-api': 2 }), v(2, { 'orders-api': 3 }), v(3)] };
    m.services['web'] = { versions: [v(1)] };
    expect(interfaceProviders(m, 'orders-api')).toEqual(requirement.providers);
    expect(interfaceProviders(m, 'nothing')).toEqual({});
  });
});
