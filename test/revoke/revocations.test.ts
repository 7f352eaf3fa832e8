import { describe, expect, it } from 'vitest';
import { historyOf } from '../../src/manifest/history.js';
import {
  emptyManifest,
  type BuildRecord,
  type CommittedVersion,
  type VersionManifest,
  type VersionVector,
} from '../../src/manifest/model.js';
import { checkRelease } from '../../src/release/gate.js';
import { holdersOf } from '../../src/revoke/holders.js';
import { applyRevocation, type RevocationRequest } from '../../src/revoke/revocation-change.js';
import { revokedIn, revokedRefusal, RevokedRefusedError } from '../../src/revoke/revoked-refusal.js';
import { revokedStatus } from '../../src/revoke/revoked-status.js';
import { replacementFor, revocationIndex } from '../../src/revoke/revocations.js';
import { InputError } from '../../src/util/errors.js';

// The pure half of revocation: which versions are revoked, what holds them, what the gate says.

function version(service: string, n: number): CommittedVersion {
  const hex = `${service}${n}`.padEnd(64, '0').replace(/[^0-9a-f]/g, 'e');
  return {
    version: n,
    digest: `sha256:${hex}`,
    layer: { digest: `sha256:${hex}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: `/srv/${service}`,
    source: 'git',
    revision: hex.slice(0, 40),
    created: '2026-01-01T00:00:00Z',
    recordedAt: `2026-01-0${n}T00:00:00Z`,
    recordedBy: 'team',
    generation: n,
  };
}

function manifestWith(latest: Record<string, number>): VersionManifest {
  const m = emptyManifest();
  for (const [service, n] of Object.entries(latest)) {
    m.services[service] = { versions: Array.from({ length: n }, (_, i) => version(service, i + 1)) };
  }
  return m;
}

function build(image: string, id: number, vector: VersionVector, extra: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id,
    image,
    digest: `sha256:${String(id).padStart(64, '0')}`,
    config: `sha256:${'2'.repeat(64)}`,
    level: 'heavy',
    vector,
    serviceLayers: {},
    base: 'scratch',
    created: '',
    builtAt: '2026-01-01T00:00:00Z',
    builtBy: 'ci',
    status: 'current',
    reproducible: true,
    generation: 1,
    ...extra,
  };
}

const who = { by: 'alice', at: '2026-02-01T00:00:00Z' };
const revoke = (service: string, v: number, extra: Partial<RevocationRequest> = {}): RevocationRequest => ({
  event: 'revoked',
  service,
  version: v,
  reason: 'CVE-2026-1: injection',
  andOlder: false,
  ...extra,
});

describe('revocations', () => {
  it('a version is revoked by its last entry: revoke, unrevoke, revoke again', () => {
    const m = manifestWith({ catalog: 3 });
    applyRevocation(m, revoke('catalog', 2), who);
    expect(revocationIndex(m).get('catalog')?.get(2)).toMatchObject({ reason: 'CVE-2026-1: injection', by: 'alice' });
    applyRevocation(m, { ...revoke('catalog', 2), event: 'unrevoked', reason: null }, { ...who, by: 'bob' });
    expect(revocationIndex(m).size).toBe(0);
    applyRevocation(m, revoke('catalog', 2, { reason: 'it was bad after all' }), who);
    expect(revocationIndex(m).get('catalog')?.get(2)?.reason).toBe('it was bad after all');
    // Append-only: every change is still there, and bake log shows each.
    expect(m.services['catalog']?.revocations?.map((r) => r.revoked)).toEqual([true, false, true]);
    expect(historyOf(m, { service: 'catalog' }).filter((e) => e.kind === 'revoke' || e.kind === 'unrevoke')).toHaveLength(3);
  });

  it('--and-older revokes every ancestor and no descendant; the replacement is the newest descendant not revoked', () => {
    const m = manifestWith({ catalog: 6 });
    applyRevocation(m, revoke('catalog', 5), who);
    const doc = applyRevocation(m, revoke('catalog', 3, { andOlder: true }), who);
    expect(doc.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    const index = revocationIndex(m);
    expect([...(index.get('catalog')?.keys() ?? [])].sort()).toEqual([1, 2, 3, 5]);
    expect(index.get('catalog')?.get(1)?.via).toBe(3);
    expect(replacementFor(m, index, 'catalog', 3)?.version).toBe(6);
    expect(replacementFor(m, index, 'catalog', 5)?.version).toBe(6);
    // Already revoked: recorded once, reported as unchanged.
    const again = applyRevocation(m, revoke('catalog', 5, { andOlder: true }), who);
    expect(again.versions.map((v) => v.version)).toEqual([4]);
    expect(again.unchanged).toEqual([1, 2, 3, 5]);
    applyRevocation(m, revoke('catalog', 6), who);
    expect(replacementFor(m, revocationIndex(m), 'catalog', 3)).toBeUndefined();
  });

  it.each<[string, RevocationRequest, RegExp]>([
    ['an empty reason', revoke('catalog', 1, { reason: '   ' }), /reason is empty/],
    ['no reason', revoke('catalog', 1, { reason: null }), /needs a reason/],
    ['an unknown service', revoke('nope', 1), /no committed versions of nope.*name one of: catalog/],
    ['an unknown version', revoke('catalog', 9), /no version 9.*v1\.\.v2/],
    ['an unrevoke of a version that is not revoked', { ...revoke('catalog', 1), event: 'unrevoked' }, /is not revoked/],
  ])('refuses %s with the fix and changes nothing', (_what, request, message) => {
    const m = manifestWith({ catalog: 2 });
    const before = JSON.stringify(m);
    expect(() => applyRevocation(m, request, who)).toThrow(InputError);
    expect(() => applyRevocation(m, request, who)).toThrow(message);
    expect(JSON.stringify(m)).toBe(before);
  });
});

describe('holders', () => {
  it('finds every build, live environment and heavy digest that holds a version', () => {
    const m = manifestWith({ catalog: 3, cart: 2 });
    m.builds['shop'] = [build('shop', 1, { catalog: 1, cart: 1 }), build('shop', 2, { catalog: 2, cart: 1 })];
    m.builds['admin'] = [build('admin', 3, { catalog: 2 }, { level: 'light' }), build('admin', 4, { catalog: 3 })];
    const release = (id: number, b: BuildRecord) => ({
      ...b,
      id,
      build: b.id,
      env: 'prod',
      at: '',
      by: '',
      overrides: [],
      state: 'committed' as const,
    });
    const [s1, s2] = m.builds['shop'] ?? [];
    if (!s1 || !s2) throw new Error('fixture');
    m.environments['prod'] = { live: { shop: 2 }, releases: [release(1, s1), release(2, s2)], refusals: [] };
    m.environments['dev'] = { live: { shop: 1 }, releases: [release(1, s1)], refusals: [] };
    const holders = holdersOf(m, (s, v) => s === 'catalog' && v === 2);
    expect(holders.builds.map((b) => `${b.image}:${b.build}`)).toEqual(['admin:3', 'shop:2']);
    expect(holders.environments.map((e) => `${e.env} ${e.image}:${e.build}`)).toEqual(['prod shop:2']);
    // The light build's digest is base + agent only: it does not carry the version.
    expect(holders.digests).toEqual([s2.digest]);
    expect(holdersOf(m, (s, v) => s === 'catalog' && v === 2, { env: 'dev' }).environments).toEqual([]);
    applyRevocation(m, revoke('catalog', 2), who);
    const status = revokedStatus(m);
    expect(status.versions).toMatchObject([
      { service: 'catalog', version: 2, use: 3, layer: m.services['catalog']?.versions[1]?.layer.digest },
    ]);
    expect(status.environments.map((e) => e.env)).toEqual(['prod']);
  });
});

describe('the gate', () => {
  const m = manifestWith({ catalog: 3, cart: 1 });
  applyRevocation(m, revoke('catalog', 2), who);

  it('refuses a release that holds a revoked version: kind revoked, reason, who, when, and the version to use', () => {
    const verdict = checkRelease({
      manifest: m,
      build: build('admin', 4, { catalog: 2, cart: 1 }),
      env: 'prod',
      allowStale: true,
      rollback: false,
    });
    expect(verdict.revoked).toBeInstanceOf(RevokedRefusedError);
    expect(verdict.revoked?.exitCode).toBe(3);
    expect(verdict.revoked?.kind).toBe('revoked');
    expect(verdict.revoked?.details()).toMatchObject({
      service: 'catalog',
      version: 2,
      reason: 'CVE-2026-1: injection',
      revokedBy: 'alice',
      revokedAt: who.at,
      use: 3,
      env: 'prod',
      image: 'admin',
      build: 4,
    });
    expect(verdict.revoked?.message).toMatch(
      /admin:4 to prod: it holds catalog v2, revoked by alice at 2026-02-01.*"CVE-2026-1: injection".*use catalog v3/,
    );
  });

  it('--rollback does not override it; --allow-revoked does, and says so for the record', () => {
    const old = build('shop', 2, { catalog: 2, cart: 1 });
    const back = checkRelease({ manifest: m, build: old, env: 'prod', live: { catalog: 3, cart: 1 }, allowStale: false, rollback: true });
    expect(back.revoked?.message).toMatch(/refusing to roll prod back to shop:2.*--allow-revoked/);
    const allowed = checkRelease({
      manifest: m,
      build: old,
      env: 'prod',
      live: { catalog: 3, cart: 1 },
      allowStale: false,
      rollback: true,
      allowRevoked: true,
    });
    expect(allowed.revoked).toBeUndefined();
    expect(allowed.refusal).toBeUndefined();
    expect(allowed.allowedRevoked).toMatchObject([{ service: 'catalog', version: 2, use: 3 }]);
  });

  it('lets descendants through, and --dev builds (working trees, not the committed version)', () => {
    expect(
      checkRelease({ manifest: m, build: build('shop', 5, { catalog: 3, cart: 1 }), env: 'prod', allowStale: false, rollback: false }),
    ).toEqual({
      overridden: [],
    });
    const dev = build('shop', 6, { catalog: 2, cart: 1 }, { dev: true });
    expect(
      checkRelease({ manifest: m, build: dev, env: 'dev', allowStale: true, rollback: false, acceptsDev: true }).revoked,
    ).toBeUndefined();
  });

  it('a bake that would hold one is refused with the fix: commit one', () => {
    const held = revokedIn(m, revocationIndex(m), { catalog: 2 });
    const error = revokedRefusal({ action: 'bake', image: 'shop' }, held);
    expect(error.message).toMatch(/refusing to bake shop: it would hold catalog v2.*use catalog v3.*then bake build shop/);
    expect(error.details()).toMatchObject({ env: null, build: null });
  });
});
