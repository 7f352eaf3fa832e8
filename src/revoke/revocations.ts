import type { CommittedVersion, RevocationRecord, VersionManifest } from '../manifest/model.js';

/** A version that is revoked now: its last revocation entry says so. */
export interface Revocation {
  service: string;
  version: number;
  reason: string;
  by: string;
  at: string;
  /** --and-older: the version named on the command line, when this one was revoked as its ancestor. */
  via?: number;
}

/** Service → version → its revocation, for every version revoked now. Built once per manifest read. */
export type RevocationIndex = ReadonlyMap<string, ReadonlyMap<number, Revocation>>;

/**
 * Which versions are revoked now. The history is append-only, so a version's state is its last
 * entry: a revoke, or an unrevoke that lifts it. Linear in the number of entries; never throws.
 */
export function revocationIndex(manifest: VersionManifest): RevocationIndex {
  const index = new Map<string, Map<number, Revocation>>();
  for (const [service, history] of Object.entries(manifest.services)) {
    const entries = history.revocations;
    if (!entries || entries.length === 0) continue;
    const last = new Map<number, RevocationRecord>();
    for (const entry of entries) last.set(entry.version, entry);
    const revoked = new Map<number, Revocation>();
    for (const [version, entry] of last) {
      if (!entry.revoked) continue;
      revoked.set(version, {
        service,
        version,
        reason: entry.reason ?? '',
        by: entry.by,
        at: entry.at,
        ...(entry.via !== undefined && { via: entry.via }),
      });
    }
    if (revoked.size > 0) index.set(service, revoked);
  }
  return index;
}

/** The revocation of one version, if it is revoked now. */
export function revocationOf(index: RevocationIndex, service: string, version: number): Revocation | undefined {
  return index.get(service)?.get(version);
}

/** Every version revoked now, by service then version. */
export function revokedVersions(index: RevocationIndex): Revocation[] {
  return [...index.keys()].sort().flatMap((service) => [...(index.get(service)?.values() ?? [])].sort((a, b) => a.version - b.version));
}

/**
 * The version to use instead of a revoked one: the newest descendant that is not revoked. A
 * service's versions form one chain (each revision descends from the one before), so the
 * descendants of vN are the versions above N. Undefined when every one of them is revoked too, or
 * none was committed yet: the fix still has to be committed.
 */
export function replacementFor(
  manifest: VersionManifest,
  index: RevocationIndex,
  service: string,
  version: number,
): CommittedVersion | undefined {
  const versions = manifest.services[service]?.versions ?? [];
  for (let i = versions.length - 1; i >= 0; i--) {
    const candidate = versions[i];
    if (!candidate || candidate.version <= version) return undefined;
    if (!revocationOf(index, service, candidate.version)) return candidate;
  }
  return undefined;
}
