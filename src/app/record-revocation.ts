import { currentActor } from '../config/workspace-paths.js';
import { waitingMessage } from '../lock/file-lock.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { updateManifest } from '../store/manifest-access.js';
import { applyRevocation, type RevocationDocument, type RevocationRequest } from '../revoke/revocation-change.js';
import type { AppContext } from './context.js';
import { tellOwners, type HookOutcome } from './revocation-hooks.js';

/** What `bake revoke --json` and `bake unrevoke --json` print: the owners' document and what telling them did. */
export interface RevocationResult extends RevocationDocument {
  hooks: HookOutcome[];
}

/**
 * Records a revoke or unrevoke under the manifest lock (validated there, against the manifest it
 * writes), then, outside the lock, tells the owners through bake.yaml's hooks. Nothing is written
 * and nobody is told when every version named was already in that state. Throws InputError for
 * bad input (nothing recorded), ManifestError, LockError; a failing hook is an outcome, not a throw.
 */
export async function recordRevocation(ctx: AppContext, request: RevocationRequest): Promise<RevocationResult> {
  const verb = request.event === 'revoked' ? 'revoke' : 'unrevoke';
  const document = await updateManifest(
    ctx.workspace,
    {
      purpose: `${verb} ${request.service} v${request.version}`,
      ...lockTuning(ctx.env),
      onWait: (holder) => ctx.progress({ kind: 'wait', message: waitingMessage(holder) }),
    },
    async (manifest) => {
      const result = applyRevocation(manifest, request, { by: currentActor(ctx.env), at: new Date().toISOString() });
      return { result, write: result.versions.length > 0 };
    },
  );
  const hooks = document.versions.length > 0 ? await tellOwners(ctx, document) : [];
  return { ...document, hooks };
}
