import type { AppContext } from './context.js';
import { recordRevocation, type RevocationResult } from './record-revocation.js';

export interface RevokeOptions {
  service: string;
  version: number;
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
 * version. Runs bake.yaml's revoked hook and webhook with the affected environments, builds and
 * digests. Throws InputError (exit 2, nothing recorded) for an unknown service or version or an
 * empty reason.
 */
export async function revoke(ctx: AppContext, options: RevokeOptions): Promise<RevokeResult> {
  return recordRevocation(ctx, {
    event: 'revoked',
    service: options.service,
    version: options.version,
    reason: options.reason,
    andOlder: options.andOlder === true,
  });
}
