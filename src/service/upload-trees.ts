import { selectCommit, type CommitOptions } from '../app/commit.js';
import type { AppContext } from '../app/context.js';
import type { DirectoryTree } from '../commit/commit-services.js';
import type { ServiceConfig, WorkspaceConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import { tarStreamOf } from '../layer/tar.js';
import { readDirectoryTree } from '../source/directory-source.js';
import { openGitRepo, type GitRepo } from '../source/git-source.js';
import { sourcePathInRepo } from '../source/source-location.js';
import { sortEntries, type TreeEntry } from '../tree/tree.js';
import { sha256Digest } from '../util/digest.js';
import { BakeError } from '../util/errors.js';
import { mapLimit } from '../util/map-limit.js';
import type { CheckoutCandidate } from '../history/checkout-proof.js';
import { readBody, sendRequest, type ServiceEndpoint, ServiceUnreachableError } from './endpoint.js';
import { remoteError } from './remote-error.js';
import type { UploadedTree } from './requests.js';
import { retryAfterMs, type ServiceSession } from './service-session.js';

/** One service's tree, uploaded, and the checkout its history proof is to be made in. */
export interface PreparedUpload {
  /** The upload as a commit request names it: a committed tree without its proof yet, or a directory with its `--after`. */
  tree: UploadedTree;
  /** A committed git tree's checkout: where its ancestry is proved, against the latest version the service reports. */
  checkout?: CheckoutCandidate;
}

/**
 * The caller's side of a commit through the service: snapshot each service the commit names
 * here, in the caller's checkout (its committed git tree, or the directory given for it), upload
 * it as a tar stream the service verifies against its digest, and name the uploads. The service
 * never reads the caller's file system, nor commits its own checkout for a caller: the history
 * proof of a committed tree is made here too, in the caller's repository (see remote-commit.ts).
 * Each upload is remembered in the session, so a replica that turns out not to have it (the
 * request went elsewhere after a failure) gets it again.
 */
export async function uploadTrees(ctx: AppContext, session: ServiceSession, options: CommitOptions): Promise<PreparedUpload[]> {
  const ws = await loadWorkspace(ctx.workspace);
  const { services, trees } = selectCommit(ws, options);
  const workspaceRepo = await openGitRepo(ws.dir, 'workspace');
  return mapLimit(services, 4, async (service) => {
    const given = trees.get(service.name);
    const snapshot = await localSnapshot(ws, workspaceRepo, service, given);
    ctx.progress({ kind: 'step', message: `uploading ${service.name}` });
    const upload = await uploadWithRetry(ctx, session, snapshot.entries);
    session.reuploads.set(upload, async (endpoint) => void (await uploadEntries(endpoint, snapshot.entries, ctx.signal)));
    const tree = { service: service.name, upload, ...snapshot.origin, ...(given?.proof && { proof: given.proof }) };
    return { tree, ...(snapshot.checkout && { checkout: snapshot.checkout }) };
  });
}

interface LocalSnapshot {
  entries: TreeEntry[];
  origin: { revision?: string; author?: string; time?: number };
  checkout?: CheckoutCandidate;
}

/**
 * The files to upload, as a local commit would snapshot them: the committed git tree (found in
 * the workspace's repository as commitServices finds it), or the directory given for it.
 */
async function localSnapshot(
  ws: WorkspaceConfig,
  workspaceRepo: GitRepo | undefined,
  service: ServiceConfig,
  tree: DirectoryTree | undefined,
): Promise<LocalSnapshot> {
  const label = `service ${service.name}`;
  if (tree) {
    const entries = typeof tree.files === 'string' ? await readDirectoryTree(tree.files, { label }) : [...tree.files];
    return { entries, origin: tree.origin ?? {} };
  }
  const repo = workspaceRepo ?? (await openGitRepo(service.source, label));
  // In the workspace's repository the source is located (and checked) exactly as a local commit does.
  const path = workspaceRepo ? await sourcePathInRepo(workspaceRepo, ws, service) : await repo?.pathOf(service.source);
  if (!repo || path === undefined) return { entries: await readDirectoryTree(service.source, { label }), origin: {} };
  const committed = (await repo.readTrees([{ path, label }])).get(path);
  if (!committed) throw new BakeError(`${label}: nothing committed at ${path || '.'} (commit it first: bake records committed trees only)`);
  return {
    entries: committed.entries,
    origin: { revision: committed.revision, author: committed.author, time: committed.commitTime },
    checkout: { top: repo.top, head: committed.head, revision: committed.revision },
  };
}

/** Uploads one tree to the session's replica, moving to another as the session allows when it does not answer. */
async function uploadWithRetry(ctx: AppContext, session: ServiceSession, entries: TreeEntry[]): Promise<string> {
  for (;;) {
    const endpoint = session.current;
    try {
      return await uploadEntries(endpoint, entries, ctx.signal);
    } catch (error) {
      if (error instanceof ServiceUnreachableError) await session.retry(ctx, error, endpoint);
      else if (error instanceof UploadRefusedError) await session.retry(ctx, error.refusal, endpoint, error.retryAfterMs);
      else throw error;
    }
  }
}

/** A 502/503/504 to an upload (a busy replica, or one without its store): `refusal` is thrown once retries are spent. */
class UploadRefusedError extends BakeError {
  override name = 'UploadRefusedError';
  constructor(
    readonly refusal: BakeError,
    readonly retryAfterMs: number | undefined,
  ) {
    super(refusal.message, { cause: refusal });
  }
}

/** Uploads one tree; resolves with the hex of its digest, which the service verified. */
async function uploadEntries(endpoint: ServiceEndpoint, entries: TreeEntry[], signal: AbortSignal | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStreamOf(sortEntries(entries), { mtime: 0 })) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const digest = sha256Digest(body);
  const res = await sendRequest(endpoint, 'POST', `/v1/uploads?digest=${digest}`, body, 'application/x-tar', signal);
  const text = await readBody(res);
  let doc: { upload?: unknown; error?: unknown } = {};
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    // not JSON: reported below with the status
  }
  if (res.statusCode !== 200 || typeof doc.upload !== 'string') {
    const refusal = remoteError(
      doc.error,
      `the bake service refused the upload (HTTP ${res.statusCode})`,
      'the bake service refused the upload: ',
    );
    if (res.statusCode >= 502 && res.statusCode <= 504) throw new UploadRefusedError(refusal, retryAfterMs(res.headers.get('retry-after')));
    throw refusal;
  }
  return doc.upload;
}
