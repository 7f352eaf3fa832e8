import type { AppContext } from './context.js';
import { recordRevocation, type RevocationResult } from './record-revocation.js';

export interface UnrevokeOptions {
  service: string;
  version: number;
  /** Why it is allowed again (optional, recorded). */
  reason?: string;
}

/** What `bake unrevoke --json` prints. */
export type UnrevokeResult = RevocationResult;

/**
 * Lifts the revocation of one version, recorded like the revocation (who, when, why); the
 * revocation stays in the history. Tells the owners through the same hooks. Throws InputError
 * (exit 2, nothing recorded) for an unknown service or version, one that is not revoked, or an
 * empty reason.
 */
export async function unrevoke(ctx: AppContext, options: UnrevokeOptions): Promise<UnrevokeResult> {
  return recordRevocation(ctx, {
    event: 'unrevoked',
    service: options.service,
    version: options.version,
    reason: options.reason ?? null,
    andOlder: false,
  });
}
