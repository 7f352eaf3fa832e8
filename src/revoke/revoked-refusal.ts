import type { VersionManifest, VersionVector } from '../manifest/model.js';
import { BakeError, ExitCode } from '../util/errors.js';
import { replacementFor, revocationOf, type Revocation, type RevocationIndex } from './revocations.js';

/** A revoked version a vector holds, and the version to use instead (null: none committed yet). */
export interface RevokedHolding extends Revocation {
  use: number | null;
}

/** What was refused: baking an image, releasing a build to an environment, or rolling one back to it. */
export interface RefusedSubject {
  action: 'bake' | 'release' | 'rollback';
  image: string;
  build?: number;
  env?: string;
}

/** Everything an operator needs to replace a revoked version: which, why, who and when, and what to use. */
export interface RevokedRefusalDetails {
  image: string;
  build: number | null;
  env: string | null;
  /** The first revoked version held (the others are in `revoked`). */
  service: string;
  version: number;
  reason: string;
  revokedBy: string;
  revokedAt: string;
  /** The newest descendant that is not revoked: the version to use; null when the fix is not committed yet. */
  use: number | null;
  /** As in every refusal: the version held, and the one wanted instead. */
  have: number;
  want: number | null;
  revoked: RevokedHolding[];
}

/** The revoked versions `vector` holds, in vector order; empty when it holds none. Pure. */
export function revokedIn(manifest: VersionManifest, index: RevocationIndex, vector: VersionVector): RevokedHolding[] {
  if (index.size === 0) return [];
  const held: RevokedHolding[] = [];
  for (const [service, version] of Object.entries(vector)) {
    const revocation = revocationOf(index, service, version);
    if (revocation) held.push({ ...revocation, use: replacementFor(manifest, index, service, version)?.version ?? null });
  }
  return held;
}

/**
 * A bake, release or rollback refused because what it would run holds a revoked version: exit 3,
 * kind `revoked`, with the version, the reason, who revoked it when, and the version to use.
 */
export class RevokedRefusedError extends BakeError {
  override name = 'RevokedRefusedError';
  override readonly kind = 'revoked';
  override readonly exitCode: number = ExitCode.refused;
  readonly refusal: RevokedRefusalDetails;

  constructor(refusal: RevokedRefusalDetails, message: string) {
    super(message);
    this.refusal = refusal;
  }

  override details(): Record<string, unknown> {
    return { ...this.refusal };
  }
}

/** The refusal for `subject`, which holds the (non-empty) revoked versions `held`. */
export function revokedRefusal(subject: RefusedSubject, held: readonly RevokedHolding[]): RevokedRefusedError {
  const first = held[0];
  if (!first) throw new Error('revokedRefusal needs at least one revoked version');
  const what =
    subject.action === 'bake'
      ? `refusing to bake ${subject.image}: it would hold`
      : subject.action === 'release'
        ? `refusing to release ${subject.image}:${subject.build ?? '?'} to ${subject.env ?? '?'}: it holds`
        : `refusing to roll ${subject.env ?? '?'} back to ${subject.image}:${subject.build ?? '?'}: it holds`;
  const holdings = held.map(describeHolding).join('; and ');
  const uses = held.map((h) =>
    h.use === null
      ? `no version of ${h.service} after v${h.version} is free of it yet: commit the fix`
      : `use ${h.service} v${h.use} (the newest version that is not revoked)`,
  );
  const next =
    subject.action === 'bake'
      ? `then bake build ${subject.image}`
      : subject.action === 'release'
        ? `rebake (bake build ${subject.image}) and release that build, or pass --allow-revoked to release this one anyway (recorded)`
        : `roll forward instead, or pass --allow-revoked to go back to it anyway (recorded)`;
  const details: RevokedRefusalDetails = {
    image: subject.image,
    build: subject.build ?? null,
    env: subject.env ?? null,
    service: first.service,
    version: first.version,
    reason: first.reason,
    revokedBy: first.by,
    revokedAt: first.at,
    use: first.use,
    have: first.version,
    want: first.use,
    revoked: [...held],
  };
  return new RevokedRefusedError(details, `${what} ${holdings}. Fix: ${uses.join('; ')}; ${next}`);
}

/** `catalog v5, revoked by alice at 2026-…: "reason"`. */
export function describeHolding(h: Revocation): string {
  const via = h.via !== undefined && h.via !== h.version ? ` (with v${h.via} --and-older)` : '';
  return `${h.service} v${h.version}, revoked${via} by ${h.by} at ${h.at}: ${JSON.stringify(h.reason)}`;
}
