import { describe, expect, it } from 'vitest';
import { emptyManifest, type CommittedVersion, type ReleaseRecord, type VersionManifest } from '../../src/manifest/model.js';
import { checkRelease } from '../../src/release/gate.js';

// The release gate with declarations recorded in the manifest: the compatibility windows of the
// rollout and the schema history decide, and nothing overrides them.

type Declared = Pick<CommittedVersion, 'provides' | 'requires' | 'schema'>;

function manifestWith(services: Record<string, Declared[]>): VersionManifest {
  const m = emptyManifest();
  for (const [service, versions] of Object.entries(services)) {
    m.services[service] = {
      versions: versions.map((declared, i) => ({
        version: i + 1,
        digest: `sha256:${String(i).padStart(64, '0')}`,
        layer: { digest: `sha256:${String(i).padStart(64, '0')}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
        install: `/srv/${service}`,
        source: 'git',
        created: '2026-01-01T00:00:00Z',
        recordedAt: '2026-01-01T00:00:00Z',
        recordedBy: 'team',
        generation: 1,
        ...declared,
      })),
    };
  }
  return m;
}

function live(m: VersionManifest, vector: Record<string, number>, extra: Partial<ReleaseRecord> = {}): void {
  const release: ReleaseRecord = {
    id: 1,
    env: 'dev',
    image: 'shop',
    build: 1,
    digest: `sha256:${'a'.repeat(64)}`,
    vector,
    level: 'heavy',
    serviceLayers: {},
    at: '2026-01-01T00:00:00Z',
    by: 'ops',
    overrides: [],
    state: 'committed',
    generation: 1,
    ...extra,
  };
  m.environments['dev'] = { live: { shop: 1 }, releases: [release], refusals: [] };
}

function build(vector: Record<string, number>) {
  return {
    id: 2,
    image: 'shop',
    digest: `sha256:${'1'.repeat(64)}` as const,
    config: `sha256:${'2'.repeat(64)}` as const,
    level: 'heavy' as const,
    vector,
    serviceLayers: {},
    base: 'scratch',
    created: '',
    builtAt: '',
    builtBy: '',
    status: 'current' as const,
    reproducible: true,
    generation: 2,
  };
}

const SHOP = {
  orders: [{ provides: { 'orders-api': 1 } }, { provides: { 'orders-api': 2 } }],
  web: [{ requires: { 'orders-api': '^1' } }, { requires: { 'orders-api': '^2' } }],
};
const rolling = { strategy: 'rolling' as const, replicas: 2, batch: 1 };

describe('the gate with declared interfaces', () => {
  it('refuses a release that is consistent at the end but not while old and new mix, naming both sides and the window', () => {
    const m = manifestWith(SHOP);
    live(m, { orders: 1, web: 1 });
    const verdict = checkRelease({
      manifest: m,
      build: build({ orders: 2, web: 2 }),
      env: 'dev',
      allowStale: false,
      rollback: false,
      rollout: rolling,
    });
    expect(verdict.incompatible?.exitCode).toBe(3);
    expect(verdict.incompatible?.kind).toBe('incompatible');
    expect(verdict.incompatible?.message).toBe(
      'refusing to release shop:2 to dev: its versions are incompatible during "mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)" ' +
        '(and 2 more window(s)): web v1 requires orders-api ^1, but orders v2 provides orders-api 2; 1 more problem(s) in --json. ' +
        'Release versions whose provides/requires agree, or roll out the provider that satisfies both first',
    );
    expect(verdict.incompatible?.details()).toMatchObject({
      reason: 'interface',
      consumer: { service: 'web', version: 1 },
      provider: { service: 'orders', version: 2, major: 2 },
      interface: 'orders-api',
      range: '^1',
      window: 'mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)',
    });
  });

  it('is not overridden by --rollback or --allow-stale', () => {
    const m = manifestWith(SHOP);
    live(m, { orders: 2, web: 2 });
    const verdict = checkRelease({
      manifest: m,
      build: build({ orders: 1, web: 2 }),
      env: 'dev',
      allowStale: true,
      rollback: true,
      rollout: rolling,
    });
    expect(verdict.incompatible?.message).toMatch(
      /^refusing to roll back shop:2 in dev: .*web v2 requires orders-api \^2, but orders v1 provides orders-api 1/,
    );
  });

  it('passes a first release (nothing live) whose versions agree, and one without declarations', () => {
    const m = manifestWith(SHOP);
    expect(
      checkRelease({ manifest: m, build: build({ orders: 2, web: 2 }), env: 'dev', allowStale: false, rollback: false }).incompatible,
    ).toBeUndefined();
    const plain = manifestWith({ orders: [{}, {}], web: [{}, {}] });
    live(plain, { orders: 1, web: 1 });
    expect(
      checkRelease({ manifest: plain, build: build({ orders: 2, web: 2 }), env: 'dev', allowStale: false, rollback: false }).incompatible,
    ).toBeUndefined();
  });

  it('refuses a rollback to code older than a contract migration that ran, naming the migration', () => {
    const migrations = { 1: 'expand', 2: 'contract' } as const;
    const m = manifestWith({ orders: [{ schema: { reads: 1, writes: 1, migrations } }, { schema: { reads: 2, writes: 2, migrations } }] });
    live(
      m,
      { orders: 2 },
      {
        migrations: [
          {
            service: 'orders',
            migration: 2,
            kind: 'contract',
            version: 2,
            status: 'applied',
            at: '2026-01-02T00:00:00Z',
            by: 'ops',
            ms: 3,
          },
        ],
      },
    );
    const verdict = checkRelease({
      manifest: m,
      build: build({ orders: 1 }),
      env: 'dev',
      allowStale: true,
      rollback: true,
      rollout: rolling,
    });
    expect(verdict.incompatible?.message).toBe(
      'refusing to roll back shop:2 in dev: orders v1 works with the schema up to migration 1, but contract migration 2 of orders ran ' +
        '(release 1, 2026-01-02T00:00:00Z) and dropped what it uses: code older than a contracted schema cannot run again',
    );
    expect(verdict.incompatible?.details()).toMatchObject({ reason: 'schema', migration: 2, service: 'orders', have: 1, want: 2 });
  });
});
