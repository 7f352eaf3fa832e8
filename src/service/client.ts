import { randomUUID } from 'node:crypto';
import { selectRecipes, servicesOf, type BuildOptions } from '../app/build.js';
import type { CommitOptions } from '../app/commit.js';
import type { AppContext } from '../app/context.js';
import type { UseCaseName, UseCaseOptions, UseCaseResult } from '../app/use-cases.js';
import { loadWorkspace } from '../config/workspace.js';
import { currentActor } from '../config/workspace-paths.js';
import { BakeError, UsageError } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import { readBody, sendRequest, type ServiceEndpoint, type ServiceResponse, ServiceUnreachableError } from './endpoint.js';
import { IDEMPOTENCY_HEADER } from './idempotency.js';
import { type RemoteError, remoteError } from './remote-error.js';
import { buildThroughService, commitThroughService, type Post } from './remote-commit.js';
import { isRemoteCommand, type RemoteCommand, type RemoteOptions, type RemoteRequest } from './requests.js';
import { retryAfterMs, ServiceSession } from './service-session.js';

/**
 * Runs a use case at the bake service at `url` instead of here: the same typed options go in,
 * the same typed result comes back, progress is relayed to `ctx.progress` as it streams, and a
 * failure is thrown as a RemoteError with the remote error's kind, exit code and details. A
 * commit (and `build --commit`) first uploads the caller's committed trees and proves their
 * ancestry in the caller's checkout (remote-commit.ts). `url` may name several replicas (commas):
 * a request that gets no answer moves to the next one, with the same idempotency key, so it runs
 * once (service-session.ts). Throws UsageError for a use case the service does not run, BakeError
 * when no service answers.
 */
export async function callService<N extends UseCaseName>(
  ctx: AppContext,
  url: string,
  name: N,
  options: UseCaseOptions<N>,
): Promise<UseCaseResult<N>> {
  if (!isRemoteCommand(name)) throw new UsageError(`bake ${name} does not run through a bake service; run it without one`);
  const session = new ServiceSession(url, ctx.env);
  const post: Post = (command, remote) =>
    postCommand(ctx, session, { command, options: remote, actor: currentActor(ctx.env) } as RemoteRequest);
  return (await callRemote(ctx, session, name, options, post)) as UseCaseResult<N>;
}

/** The request for a use case: its own options, but trees travel as uploads and no host path is named. */
async function callRemote(ctx: AppContext, session: ServiceSession, name: RemoteCommand, options: unknown, post: Post): Promise<unknown> {
  if (name === 'commit') return commitThroughService(ctx, session, options as CommitOptions, post);
  if (name !== 'build') return post(name as RemoteCommand, options as RemoteOptions[RemoteCommand]);
  const { commit, dev, ...rest } = options as BuildOptions;
  if (dev === true) throw new UsageError('bake build --dev bakes working trees and does not run through a bake service');
  if (commit === undefined || commit === false) return post('build', rest);
  // The services to commit are those the images contain, read from the caller's own checkout.
  const trees: CommitOptions =
    commit === true ? { services: servicesOf(await selectRecipes(await loadWorkspace(ctx.workspace), rest)) } : { trees: commit };
  return buildThroughService(ctx, session, rest, trees, post);
}

/** Statuses another try (another replica) may cure: a load balancer or replica without a way to its store. */
const RETRY_STATUSES = new Set([502, 503, 504]);
/** Rounds of uploading again what a replica lacks, before its refusal stands. */
const REUPLOAD_ROUNDS = 3;

/**
 * Posts one command and reads its NDJSON answer: progress lines, then the result or the error.
 * Every attempt carries the same idempotency key. An answer that never came or was cut short, and
 * a 502/503/504, are retried as the session allows (another replica); a 409 (the same request
 * still running where the first attempt went) is waited out; an `upload-missing` refusal (the
 * uploads went to another replica) is answered by uploading them here and sending again.
 */
async function postCommand(ctx: AppContext, session: ServiceSession, request: RemoteRequest): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(request));
  const headers = { [IDEMPOTENCY_HEADER]: randomUUID() };
  const started = Date.now();
  let reuploads = 0;
  let waited = false;
  for (;;) {
    const endpoint = session.current;
    let res: ServiceResponse;
    try {
      res = await sendRequest(endpoint, 'POST', '/v1/commands', body, 'application/json', ctx.signal, headers);
    } catch (error) {
      if (!(error instanceof ServiceUnreachableError)) throw error;
      await session.retry(ctx, error, endpoint);
      continue;
    }
    if (res.statusCode !== 200) {
      const refusal = await refusalOf(res);
      const after = retryAfterMs(res.headers.get('retry-after'));
      if (RETRY_STATUSES.has(res.statusCode)) await session.retry(ctx, refusal, endpoint, after);
      else if (res.statusCode === 409 && refusal.kind === 'in-progress') {
        if (!waited)
          ctx.progress({ kind: 'wait', message: 'the request is still running where it was sent first; waiting for its answer' });
        waited = true;
        await session.awaitRun(ctx, refusal, after ?? 1000, started);
      } else if (refusal.kind === 'upload-missing' && reuploads++ < REUPLOAD_ROUNDS && (await reupload(session, refusal, endpoint))) {
        ctx.progress({ kind: 'wait', message: `uploaded the trees again to ${endpoint.base.origin}, which did not have them` });
      } else throw refusal;
      continue;
    }
    session.answered();
    try {
      return await readAnswer(ctx, endpoint, res);
    } catch (error) {
      if (!(error instanceof AnswerCutError)) throw error;
      await session.retry(ctx, error, endpoint);
    }
  }
}

/** The error document of a refusal (any status but 200), as a RemoteError. */
async function refusalOf(res: ServiceResponse): Promise<RemoteError> {
  const text = await readBody(res).catch(() => '');
  let error: unknown;
  try {
    error = (JSON.parse(text) as { error?: unknown }).error;
  } catch {
    // not JSON: reported with the status below
  }
  return remoteError(error, `the bake service answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`, 'the service refused: ');
}

async function reupload(session: ServiceSession, refusal: RemoteError, endpoint: ServiceEndpoint): Promise<boolean> {
  const missing = refusal.remote['missing'];
  if (!Array.isArray(missing) || !missing.every((m) => typeof m === 'string')) return false;
  return session.reupload(missing as string[], endpoint);
}

/** The answer stopped before its result: the replica died or the connection broke. The request may have run. */
class AnswerCutError extends BakeError {
  override name = 'AnswerCutError';
}

async function readAnswer(ctx: AppContext, endpoint: ServiceEndpoint, res: ServiceResponse): Promise<unknown> {
  const closed = (cause?: unknown) =>
    new AnswerCutError(`the bake service at ${endpoint.base.origin} closed the connection before the command finished`, { cause });
  let pending = '';
  res.setEncoding('utf8');
  const chunks = (async function* () {
    try {
      yield* res as AsyncIterable<string>;
    } catch (error) {
      throw closed(error);
    }
  })();
  for await (const chunk of chunks) {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!text) continue;
      const message = parseLine(text, endpoint);
      if ('progress' in message) {
        if (isProgress(message.progress)) ctx.progress(message.progress);
      } else if ('result' in message) return message.result;
      else if ('error' in message) throw remoteError(message.error, 'the bake service reported an error it did not describe');
    }
  }
  throw closed();
}

function parseLine(text: string, endpoint: ServiceEndpoint): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BakeError(`the bake service at ${endpoint.base.origin} sent a line that is not a JSON object: ${text.slice(0, 200)}`);
}

function isProgress(value: unknown): value is ProgressEvent {
  const event = value as Partial<ProgressEvent> | null;
  if (typeof event !== 'object' || event === null) return false;
  return ['step', 'done', 'wait'].includes(event.kind ?? '') && typeof event.message === 'string';
}
