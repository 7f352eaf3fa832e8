import { run } from '../util/exec.js';
import { GitError } from '../util/errors.js';

/**
 * How a candidate revision relates to the recorded one, in the caller's git history:
 * - `descends`: the candidate is the recorded revision or one of its descendants: it may follow it;
 * - `behind`: the candidate is an ancestor of the recorded one (the checkout is behind);
 * - `missing`: the recorded revision is not in the caller's history at all (never fetched): behind too;
 * - `diverged`: neither descends from the other (both sides changed the service).
 */
export type Ancestry = 'descends' | 'behind' | 'missing' | 'diverged';

const REVISION = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * Relates `candidate` to `recorded` with `git merge-base --is-ancestor` in the repository at
 * `top`: one git call when the candidate descends (the common case), two otherwise. A recorded
 * revision the repository does not hold counts as not descended. Throws GitError when git fails.
 */
export async function ancestryOf(top: string, recorded: string, candidate: string): Promise<Ancestry> {
  if (!REVISION.test(recorded) || !REVISION.test(candidate)) {
    throw new GitError(`cannot compare revisions ${JSON.stringify(recorded)} and ${JSON.stringify(candidate)}: not full git object ids`);
  }
  if (recorded === candidate) return 'descends';
  const forward = await isAncestor(top, recorded, candidate);
  if (forward === 'yes') return 'descends';
  if (forward === 'missing') return 'missing';
  return (await isAncestor(top, candidate, recorded)) === 'yes' ? 'behind' : 'diverged';
}

async function isAncestor(top: string, ancestor: string, descendant: string): Promise<'yes' | 'no' | 'missing'> {
  const result = await run('git', ['-C', top, 'merge-base', '--is-ancestor', ancestor, descendant]);
  if (result.exitCode === 0) return 'yes';
  if (result.exitCode === 1) return 'no';
  // 128: an object git does not have (the other side was never fetched here), or a broken repository.
  const exists = await run('git', ['-C', top, 'cat-file', '-e', `${ancestor}^{commit}`]);
  if (exists.exitCode !== 0) return 'missing';
  throw new GitError(
    `git merge-base --is-ancestor ${ancestor.slice(0, 12)} ${descendant.slice(0, 12)} failed in ${top}: ${result.stderr.trim()}`,
  );
}
