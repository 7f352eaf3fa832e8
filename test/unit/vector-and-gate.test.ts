import { describe, expect, it } from 'vitest';
import { compareVectors } from '../../src/manifest/vector.js';
import { checkRelease } from '../../src/release/gate.js';
import { emptyManifest, type BuildRecord, type CommittedVersion, type VersionManifest } from '../../src/manifest/model.js';

describe('compareVectors', () => {
  it.each([
    [{ a: 1, b: 1 }, { a: 1, b: 1 }, 'equal'],
    [{ a: 1, b: 1 }, { a: 2, b: 1 }, 'newer'],
    [{ a: 2, b: 1 }, { a: 1, b: 1 }, 'older'],
    [{ a: 2, b: 1 }, { a: 1, b: 2 }, 'incomparable'],
    [{ a: 1 }, { a: 1, b: 5 }, 'equal'],
    [{ a: 1, c: 9 }, { a: 2 }, 'newer'],
  ] as const)('%j → %j is %s', (current, next, order) => {
    expect(compareVectors(current, next).order).toBe(order);
  });
});

function version(service: string, n: number, author: string): CommittedVersion {
  const hex = (service.length * 1000 + n).toString(16).padStart(64, '0');
  return {
    version: n,
    digest: `sha256:${hex}`,
    layer: { digest: `sha256:${hex}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: `/srv/${service}`,
    source: 'git',
    author,
    created: '2026-01-01T00:00:00Z',
    recordedAt: `2026-01-0${n}T00:00:00Z`,
    recordedBy: author,
  };
}

function manifestWith(latest: Record<string, number>): VersionManifest {
  const m = emptyManifest();
  for (const [service, n] of Object.entries(latest)) {
    m.services[service] = {
      versions: Array.from({ length: n }, (_, i) => version(service, i + 1, `${service}-team <${service}@example.com>`)),
    };
  }
  return m;
}

function build(vector: Record<string, number>): BuildRecord {
  return {
    id: 7,
    image: 'shop',
    digest: `sha256:${'1'.repeat(64)}`,
    config: `sha256:${'2'.repeat(64)}`,
    level: 'heavy',
    vector,
    serviceLayers: {},
    base: 'scratch',
    created: '',
    builtAt: '',
    builtBy: '',
    status: 'current',
    reproducible: true,
  };
}

describe('checkRelease (the race gate)', () => {
  const latest = { s1: 2, s2: 2 };
  it.each([
    ['a current build onto nothing', { s1: 2, s2: 2 }, undefined, {}, undefined],
    ['a current build that moves forward', { s1: 2, s2: 2 }, { s1: 1, s2: 2 }, {}, undefined],
    [
      'a stale build',
      { s1: 2, s2: 1 },
      undefined,
      {},
      { kind: 'stale', service: 's2', have: 1, want: 2, committedBy: 's2-team <s2@example.com>' },
    ],
    [
      'race 1: the other team’s image is live',
      { s1: 2, s2: 1 },
      { s1: 1, s2: 2 },
      { allowStale: true },
      { kind: 'conflict', service: 's2', have: 2, want: 1 },
    ],
    ['a regression', { s1: 1, s2: 2 }, { s1: 2, s2: 2 }, { allowStale: true }, { kind: 'regression', service: 's1', have: 2, want: 1 }],
    ['a stale build with --allow-stale', { s1: 2, s2: 1 }, { s1: 1, s2: 1 }, { allowStale: true }, undefined],
    ['a regression with --rollback', { s1: 1, s2: 1 }, { s1: 2, s2: 2 }, { rollback: true }, undefined],
  ] as const)('%s', (_name, vector, live, flags, refusal) => {
    const verdict = checkRelease({
      manifest: manifestWith(latest),
      build: build(vector),
      env: 'prod',
      ...(live && { live }),
      allowStale: 'allowStale' in flags && flags.allowStale === true,
      rollback: 'rollback' in flags && flags.rollback === true,
    });
    if (refusal === undefined) {
      expect(verdict.refusal).toBeUndefined();
    } else {
      expect(verdict.refusal?.race).toMatchObject(refusal);
      expect(verdict.refusal?.message).toContain(refusal.service);
      expect(verdict.refusal?.message).toContain(`v${refusal.have}`);
      expect(verdict.refusal?.message).toContain(`v${refusal.want}`);
    }
  });

  it('records what an override let through', () => {
    const verdict = checkRelease({
      manifest: manifestWith(latest),
      build: build({ s1: 1, s2: 1 }),
      env: 'prod',
      live: { s1: 2, s2: 2 },
      allowStale: false,
      rollback: true,
    });
    expect(verdict.overridden.map((o) => o.kind)).toEqual(['stale', 'regression']);
  });
});
