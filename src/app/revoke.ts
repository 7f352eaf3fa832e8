import type { RevocationTarget } from '../revoke/revocation-change.js';
import type { AppContext } from './context.js';
import { recordRevocation, type RevocationResult } from './record-revocation.js';

export interface RevokeOptions extends RevocationTarget {
  /** Why it is revoked: required, recorded, and shown in every refusal. */
  reason: string;
  /** Also revoke every ancestor: v1 … v(version-1) (the bad change came in at `version`). */
  andOlder?: boolean;
}

/** What `bake revoke --json` prints. */
export type RevokeResult = RevocationResult;

/**
 * Marks a committed version bad (who, when, why): from then on no build or release that holds it
 * passes the gate (exit 3, kind revoked), rollback does not go back to it without --allow-revoked,
 * and `bake status` names everything that holds it. Descendants stay allowed: the fix is a newer
 * version. Recorded under the lock, then bake.yaml's revoked hook and webhook get the affected
 * environments, builds, pushes and digests (recordRevocation). Throws InputError (exit 2, nothing
 * recorded) for an unknown service or version or an empty reason; ManifestError, LockError.
 */
export async function revoke(ctx: AppContext, options: RevokeOptions): Promise<RevokeResult> {
  const { service, version, reason } = options;
  return recordRevocation(ctx, { event: 'revoked', service, version, reason, andOlder: options.andOlder === true });
}
