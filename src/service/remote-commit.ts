import type { BuildResult } from '../app/build.js';
import type { CommitOptions, CommitRefusal, CommitResult, ServiceCommit } from '../app/commit.js';
import type { AppContext } from '../app/context.js';
import type { LatestResult } from '../app/latest.js';
import { proveCheckout } from '../history/checkout-proof.js';
import { mapLimit } from '../util/map-limit.js';
import { RemoteError } from './remote-error.js';
import type { RemoteCommand, RemoteOptions, UploadedTree } from './requests.js';
import type { ServiceSession } from './service-session.js';
import { uploadTrees, type PreparedUpload } from './upload-trees.js';

/** Sends one typed request to the service and resolves with its result (client.ts passes its own). */
export type Post = <C extends RemoteCommand>(command: C, options: RemoteOptions[C]) => Promise<unknown>;

/** How often a proof the service found outdated (`moved`: someone recorded the service meanwhile) is made again. */
const MAX_ATTEMPTS = 5;

/**
 * `bake commit` through the service, with the history gate's proof made where the history is: in
 * the caller's checkout. Uploads the trees, asks the service for the latest versions, proves each
 * committed tree's ancestry against them here and sends the proofs with the commit; the service
 * checks them under its manifest lock (compare-and-set). A proof that was outdated by the time the
 * lock was taken (`moved`) is made again and only that service resent, at most 5 times in all.
 */
export async function commitThroughService(
  ctx: AppContext,
  session: ServiceSession,
  options: CommitOptions,
  post: Post,
): Promise<CommitResult> {
  const uploads = await uploadTrees(ctx, session, options);
  const commits = new Map<string, ServiceCommit>();
  const refused: CommitRefusal[] = [];
  let pending = uploads;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const answer = (await post('commit', { services: await prove(pending, post) })) as Partial<CommitResult>;
    const result = { commits: answer.commits ?? [], refused: answer.refused ?? [] };
    for (const c of result.commits) commits.set(c.service, c);
    const again = new Set(
      result.refused.filter((r) => r.kind === 'moved' && attempt < MAX_ATTEMPTS && provable(pending, r.service)).map((r) => r.service),
    );
    refused.push(...result.refused.filter((r) => !again.has(r.service)));
    if (again.size > 0) ctx.progress({ kind: 'step', message: `${[...again].join(', ')} moved meanwhile: proving again` });
    pending = pending.filter((u) => again.has(u.tree.service));
  }
  return { commits: uploads.flatMap((u) => commits.get(u.tree.service) ?? []), refused };
}

/**
 * `bake build --commit` through the service: the caller's trees, proved as for a commit, go with
 * the build request; the service commits them, and refuses the build (exit 3) when the gate
 * refuses one. A `moved` refusal is proved again and the request resent, at most 5 times in all.
 */
export async function buildThroughService(
  ctx: AppContext,
  session: ServiceSession,
  options: Omit<RemoteOptions['build'], 'commit'>,
  commit: CommitOptions,
  post: Post,
): Promise<BuildResult> {
  const uploads = await uploadTrees(ctx, session, commit);
  for (let attempt = 1; ; attempt++) {
    try {
      return (await post('build', { ...options, commit: await prove(uploads, post) })) as BuildResult;
    } catch (error) {
      const service = error instanceof RemoteError && error.kind === 'moved' ? error.remote['service'] : undefined;
      if (attempt >= MAX_ATTEMPTS || typeof service !== 'string' || !provable(uploads, service)) throw error;
      ctx.progress({ kind: 'step', message: `${service} moved meanwhile: proving again` });
    }
  }
}

/**
 * The uploads with their proofs: each committed tree proved in its checkout against the latest
 * version the service reports now (one read request for all). A revision the checkout does not
 * hold counts as not descended. Directories keep what they were given (`--after`, or nothing).
 */
async function prove(uploads: readonly PreparedUpload[], post: Post): Promise<UploadedTree[]> {
  const git = uploads.filter((u) => u.checkout).map((u) => u.tree.service);
  const { latest } = git.length > 0 ? ((await post('latest', { services: git })) as LatestResult) : { latest: {} };
  return mapLimit(uploads, 4, async (u) => {
    if (!u.checkout) return u.tree;
    return { ...u.tree, proof: await proveCheckout(latest[u.tree.service], u.checkout) };
  });
}

function provable(uploads: readonly PreparedUpload[], service: string): boolean {
  return uploads.some((u) => u.tree.service === service && u.checkout !== undefined);
}
