import type { RevocationTarget } from '../revoke/revocation-change.js';
import type { AppContext } from './context.js';
import { recordRevocation, type RevocationResult } from './record-revocation.js';

export interface UnrevokeOptions extends RevocationTarget {
  /** Why it is allowed again (optional, recorded). */
  reason?: string;
}

/** What `bake unrevoke --json` prints. */
export type UnrevokeResult = RevocationResult;

/**
 * Lifts the revocation of one version (the revocation stays in the history), recorded and told to
 * the owners like a revocation (recordRevocation). Throws InputError (exit 2, nothing recorded) for
 * an unknown service or version, one that is not revoked, or an empty reason; ManifestError, LockError.
 */
export async function unrevoke(ctx: AppContext, options: UnrevokeOptions): Promise<UnrevokeResult> {
  const { service, version } = options;
  return recordRevocation(ctx, { event: 'unrevoked', service, version, reason: options.reason ?? null, andOlder: false });
}
