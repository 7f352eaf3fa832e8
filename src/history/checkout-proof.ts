import { ancestryOf, type Ancestry } from './ancestry.js';
import type { HistoryProof } from './follows.js';

/** A service's latest recorded version, as much of it as a proof needs. */
export interface LatestRevision {
  version: number;
  /** The revision it was recorded from; null or absent for a directory. */
  revision?: string | null;
}

/** Where a candidate comes from: a git checkout (its top and HEAD) and the last commit that touched the service there. */
export interface CheckoutCandidate {
  top: string;
  head: string;
  /** The last commit that touched the service's source: the revision the new version is recorded with. */
  revision: string;
}

/**
 * Proves, in the caller's checkout, how a candidate relates to the service's latest version: the
 * proof the history gate checks under the manifest lock. A latest version without a revision (a
 * directory) has no history to follow, so any git candidate follows it. Throws GitError.
 */
export async function proveCheckout(latest: LatestRevision | undefined, checkout: CheckoutCandidate): Promise<HistoryProof> {
  const after = latest?.version ?? 0;
  if (!latest?.revision) return { after, ancestry: 'descends' };
  return { after, ancestry: await checkoutAncestry(latest.revision, checkout) };
}

/**
 * How a checkout relates to a recorded revision. It follows when its HEAD contains the recorded
 * revision: then whatever the service's tree is at HEAD was made after seeing it (a change, a merge
 * resolution, a revert). HEAD is asked rather than the service's last commit because a merge that
 * keeps one side's tree of the service does not touch it, so the last commit can be a side branch
 * even though HEAD holds both. When HEAD does not contain it, the service's last commit tells the
 * two refusals apart: an ancestor of the recorded revision means the checkout has not changed the
 * service since (behind: pull); otherwise both sides changed it (diverged: merge).
 */
export async function checkoutAncestry(recorded: string, checkout: CheckoutCandidate): Promise<Ancestry> {
  const ofHead = await ancestryOf(checkout.top, recorded, checkout.head);
  if (ofHead !== 'diverged' || checkout.revision === checkout.head) return ofHead;
  return ancestryOf(checkout.top, recorded, checkout.revision);
}
