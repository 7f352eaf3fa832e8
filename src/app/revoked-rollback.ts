import { readManifest } from '../store/manifest-access.js';
import type { ReleaseRecord } from '../manifest/model.js';
import { revokedIn, revokedRefusal, type RevokedHolding } from '../revoke/revoked-refusal.js';
import { revocationIndex } from '../revoke/revocations.js';

/**
 * Whether a rollback may go back to `target` (a release whose fleet still runs, about to get the
 * traffic again). A rollback never goes to a revoked version unless `allowRevoked`: throws
 * RevokedRefusedError (exit 3) when it would. Returns the revoked versions allowed, for the record.
 */
export async function revokedOnRollback(
  workspace: string,
  env: string,
  target: Pick<ReleaseRecord, 'image' | 'build' | 'vector'>,
  allowRevoked: boolean,
): Promise<RevokedHolding[]> {
  const manifest = await readManifest(workspace);
  const held = revokedIn(manifest, revocationIndex(manifest), target.vector);
  if (held.length > 0 && !allowRevoked) throw revokedRefusal({ action: 'rollback', image: target.image, build: target.build, env }, held);
  return held;
}

/** ` (--allow-revoked: catalog v5)`, or nothing: said in the change the rollback records. */
export function allowedRevokedNote(held: readonly RevokedHolding[]): string {
  return held.length === 0 ? '' : ` (--allow-revoked: ${held.map((h) => `${h.service} v${h.version}`).join(', ')})`;
}
