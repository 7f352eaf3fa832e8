import { expect } from 'vitest';
import type { VersionManifest } from '../../src/manifest/model.js';

/**
 * Every record a manifest holds, counted: versions, commit refusals, revocations, builds, releases,
 * release refusals, environment changes, interrupted requests. In the flows of the replica tests each
 * write records exactly one of them, so this count is the number of writes: it must equal the
 * generation (nothing lost, nothing recorded twice, no write that recorded nothing).
 */
export function recordsOf(m: VersionManifest): number {
  let n = m.interrupted?.length ?? 0;
  for (const s of Object.values(m.services)) n += s.versions.length + (s.refusals?.length ?? 0) + (s.revocations?.length ?? 0);
  for (const b of Object.values(m.builds)) n += b.length;
  for (const e of Object.values(m.environments)) n += e.releases.length + e.refusals.length + (e.changes?.length ?? 0);
  return n;
}

/**
 * The store is consistent: versions numbered 1…n with no version recorded twice in a row, builds and
 * releases numbered once each and only naming what exists, live releases that exist, every record
 * made at a generation the store reached, and every interrupted request recorded once.
 */
export function expectConsistent(m: VersionManifest): void {
  for (const [service, history] of Object.entries(m.services)) {
    history.versions.forEach((v, i) => {
      expect(v.version, `${service} v${i + 1}`).toBe(i + 1);
      expect(v.generation).toBeLessThanOrEqual(m.generation);
      if (i > 0) expect(v.digest, `${service} v${i + 1} repeats v${i}`).not.toBe(history.versions[i - 1]?.digest);
    });
  }
  for (const [image, builds] of Object.entries(m.builds)) {
    const ids = builds.map((b) => b.id);
    expect(new Set(ids).size, `${image} build ids`).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const identities = builds.map((b) => `${b.digest} ${JSON.stringify(b.vector)} ${b.dev ?? false}`);
    expect(new Set(identities).size, `${image}: a build recorded twice`).toBe(identities.length);
    for (const b of builds) {
      expect(b.generation).toBeLessThanOrEqual(m.generation);
      for (const [service, version] of Object.entries(b.vector)) {
        expect(version, `${image}:${b.id} names ${service} v${version}`).toBeLessThanOrEqual(m.services[service]?.versions.length ?? 0);
      }
    }
  }
  for (const [env, record] of Object.entries(m.environments)) {
    const ids = record.releases.map((r) => r.id);
    expect(new Set(ids).size, `${env} release ids`).toBe(ids.length);
    for (const r of record.releases) {
      expect(
        m.builds[r.image]?.some((b) => b.id === r.build),
        `${env} release ${r.id} names ${r.image}:${r.build}`,
      ).toBe(true);
    }
    for (const [image, id] of Object.entries(record.live)) expect(record.releases.some((r) => r.id === id && r.image === image)).toBe(true);
  }
  const interrupted = (m.interrupted ?? []).flatMap((i) => (i.id ? [i.id] : []));
  expect(new Set(interrupted).size, 'an interrupted request recorded twice').toBe(interrupted.length);
}
