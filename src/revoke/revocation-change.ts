import type { RevocationRecord, VersionManifest } from '../manifest/model.js';
import type { Digest } from '../util/digest.js';
import { InputError, type Problem } from '../util/errors.js';
import { holdersOf, type Holders } from './holders.js';
import { replacementFor, revocationIndex, revocationOf } from './revocations.js';

/** The committed version a revoke or unrevoke names. */
export interface RevocationTarget {
  service: string;
  version: number;
}

/** A revoke or an unrevoke as asked for: one version, or (revoke --and-older) it and every ancestor. */
export interface RevocationRequest extends RevocationTarget {
  event: 'revoked' | 'unrevoked';
  reason: string | null;
  andOlder: boolean;
}

/**
 * What a revocation tells the owners (the hook's standard input, the webhook's body, the
 * command's --json): the versions, who, when and why, the version to use instead, and every
 * environment, build and image digest that holds one of them.
 */
export interface RevocationDocument {
  event: 'revoked' | 'unrevoked';
  service: string;
  /** The versions this command changed, oldest first (empty when they were all in that state already). */
  versions: { version: number; revision: string | null; layer: Digest }[];
  /** Versions named that already were in the state asked for: nothing was recorded for them. */
  unchanged: number[];
  reason: string | null;
  by: string;
  at: string;
  /** The newest version of the service that is not revoked and descends from the one named; null if none. */
  use: number | null;
  affected: Holders;
}

/** Why a reason is unusable, or undefined when it says something. */
export function reasonProblem(reason: string | undefined | null, required: boolean): Problem | undefined {
  if (reason === undefined || reason === null) {
    return required ? { file: 'command line', field: '--reason', message: 'a revocation needs a reason', fix: REASON_FIX } : undefined;
  }
  if (reason.trim().length === 0) return { file: 'command line', field: '--reason', message: 'the reason is empty', fix: REASON_FIX };
  if (reason.length > 4096) {
    return {
      file: 'command line',
      field: '--reason',
      message: 'the reason is longer than 4096 characters',
      fix: 'say it in a line or two',
    };
  }
  return undefined;
}

const REASON_FIX = 'say why, e.g. --reason "CVE-2026-1234: SQL injection in search; fixed in the next version"';

/**
 * Applies a revoke or unrevoke to the manifest (appending one record per version that changes
 * state) and returns the document for the owners. Throws InputError, changing nothing, for an
 * empty reason, an unknown service or version, or an unrevoke of a version that is not revoked.
 */
export function applyRevocation(
  manifest: VersionManifest,
  request: RevocationRequest,
  who: { by: string; at: string },
): RevocationDocument {
  const problem = reasonProblem(request.reason, request.event === 'revoked');
  if (problem) throw new InputError([problem]);
  const history = manifest.services[request.service];
  const known = Object.keys(manifest.services).sort();
  if (!history || history.versions.length === 0) {
    throw new InputError([
      {
        file: 'command line',
        field: 'SERVICE',
        message: `no committed versions of ${request.service}`,
        fix: known.length > 0 ? `name one of: ${known.join(', ')}` : 'nothing is committed yet: bake commit --all',
      },
    ]);
  }
  const latest = history.versions.length;
  if (!Number.isSafeInteger(request.version) || request.version < 1 || request.version > latest) {
    throw new InputError([
      {
        file: 'command line',
        field: 'VERSION',
        message: `${request.service} has no version ${request.version}`,
        fix: `name one of v1..v${latest} (bake log --service ${request.service})`,
      },
    ]);
  }
  const before = revocationIndex(manifest);
  const named = request.andOlder && request.event === 'revoked' ? range(1, request.version) : [request.version];
  const revoking = request.event === 'revoked';
  const changing = named.filter((v) => (revocationOf(before, request.service, v) !== undefined) !== revoking);
  if (!revoking && changing.length === 0) {
    throw new InputError([
      {
        file: 'command line',
        field: 'VERSION',
        message: `${request.service} v${request.version} is not revoked`,
        fix: 'bake status lists the revoked versions',
      },
    ]);
  }
  const records = (history.revocations ??= []);
  for (const version of changing) {
    const record: RevocationRecord = {
      version,
      revoked: revoking,
      reason: request.reason,
      at: who.at,
      by: who.by,
      ...(request.andOlder && revoking && version !== request.version && { via: request.version }),
      generation: manifest.generation + 1,
    };
    records.push(record);
  }
  const after = revocationIndex(manifest);
  const set = new Set(changing);
  return {
    event: request.event,
    service: request.service,
    versions: changing.flatMap((version) => {
      const v = history.versions[version - 1];
      return v ? [{ version, revision: v.revision ?? null, layer: v.layer.digest }] : [];
    }),
    unchanged: named.filter((v) => !set.has(v)),
    reason: request.reason,
    by: who.by,
    at: who.at,
    use: replacementFor(manifest, after, request.service, request.version)?.version ?? null,
    affected: holdersOf(manifest, (service, version) => service === request.service && set.has(version)),
  };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
