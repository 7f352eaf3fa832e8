import type { ServiceTree } from '../app/commit.js';
import type { AppContext } from '../app/context.js';
import { runUseCase, type UseCaseName, type UseCaseOptions, type UseCaseResult } from '../app/use-cases.js';
import type { LayoutStore } from '../oci/layout-store.js';
import type { RemoteRequest, UploadedTree } from './requests.js';
import type { MemoryUploads } from './memory-uploads.js';
import { UploadMissingError, uploadedTree, type UploadedSource } from './uploads.js';

/** A use case and its options, ready to run. */
export type UseCaseCall = { [N in UseCaseName]: { name: N; options: UseCaseOptions<N> } }[UseCaseName];

/**
 * Turns a checked remote request into the use case it names, with the same options a local run
 * would pass; the only translation is an upload's digest into the tree it holds (in `memory`, or
 * the directory it unpacked it to, from `shared`, the blob registry, when it was made to another
 * replica). Throws
 * UploadError for a malformed upload name, UploadMissingError naming every upload not here.
 */
export async function useCaseOf(
  workspace: string,
  request: RemoteRequest,
  shared?: LayoutStore,
  memory?: MemoryUploads,
): Promise<UseCaseCall> {
  const trees = (uploads: readonly UploadedTree[]) => treesOf(workspace, uploads, shared, memory);
  switch (request.command) {
    case 'commit':
      return { name: 'commit', options: { trees: await trees(request.options.services) } };
    case 'build': {
      const { commit, ...rest } = request.options;
      return { name: 'build', options: { ...rest, ...(commit !== undefined && { commit: await trees(commit) }) } };
    }
    case 'release':
      return { name: 'release', options: request.options };
    case 'push':
      return { name: 'push', options: request.options };
    case 'latest':
      return { name: 'latest', options: request.options };
    case 'status':
      return { name: 'status', options: request.options };
    case 'log':
      return { name: 'log', options: request.options };
    case 'gc':
      return { name: 'gc', options: request.options };
    case 'revoke':
      return { name: 'revoke', options: request.options };
    case 'unrevoke':
      return { name: 'unrevoke', options: request.options };
  }
}

/** Runs a prepared call: the same use case, through the same table, as the CLI. */
export function runCall(ctx: AppContext, call: UseCaseCall): Promise<UseCaseResult<UseCaseName>> {
  // The union of calls does not narrow through a generic; each member was built typed above.
  return runUseCase(ctx, call.name, call.options as never);
}

async function treesOf(
  workspace: string,
  uploads: readonly UploadedTree[],
  shared: LayoutStore | undefined,
  memory: MemoryUploads | undefined,
): Promise<ServiceTree[]> {
  const found = await Promise.allSettled(uploads.map(({ upload }) => uploadedTree(workspace, upload, shared, memory)));
  // Every missing upload at once, so a client that re-uploads does it in one round.
  const missing = found.flatMap((f) => (f.status === 'rejected' && f.reason instanceof UploadMissingError ? f.reason.missing : []));
  const failed = found.find((f) => f.status === 'rejected' && !(f.reason instanceof UploadMissingError));
  if (failed?.status === 'rejected') throw failed.reason;
  if (missing.length > 0) throw new UploadMissingError([...new Set(missing)]);
  return uploads.map(({ upload: _upload, ...origin }, i) => ({ ...origin, ...(found[i] as PromiseFulfilledResult<UploadedSource>).value }));
}
