import { selectRecipes, servicesOf, type BuildOptions } from '../app/build.js';
import type { CommitOptions } from '../app/commit.js';
import type { AppContext } from '../app/context.js';
import type { UseCaseName, UseCaseOptions, UseCaseResult } from '../app/use-cases.js';
import { loadWorkspace } from '../config/workspace.js';
import { currentActor } from '../config/workspace-paths.js';
import { BakeError, UsageError } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import { readBody, sendRequest, serviceEndpoint, type ServiceEndpoint, type ServiceResponse } from './endpoint.js';
import { remoteError } from './remote-error.js';
import { buildThroughService, commitThroughService, type Post } from './remote-commit.js';
import { isRemoteCommand, type RemoteCommand, type RemoteOptions, type RemoteRequest } from './requests.js';

/**
 * Runs a use case at the bake service at `url` instead of here: the same typed options go in,
 * the same typed result comes back, progress is relayed to `ctx.progress` as it streams, and a
 * failure is thrown as a RemoteError with the remote error's kind, exit code and details. A
 * commit (and `build --commit`) first uploads the caller's committed trees and proves their
 * ancestry in the caller's checkout (remote-commit.ts). Throws UsageError for a use case the
 * service does not run, BakeError when no service answers.
 */
export async function callService<N extends UseCaseName>(
  ctx: AppContext,
  url: string,
  name: N,
  options: UseCaseOptions<N>,
): Promise<UseCaseResult<N>> {
  if (!isRemoteCommand(name)) throw new UsageError(`bake ${name} does not run through a bake service; run it without one`);
  const endpoint = serviceEndpoint(url, ctx.env);
  const post: Post = (command, remote) =>
    postCommand(ctx, endpoint, { command, options: remote, actor: currentActor(ctx.env) } as RemoteRequest);
  return (await callRemote(ctx, endpoint, name, options, post)) as UseCaseResult<N>;
}

/** The request for a use case: its own options, but trees travel as uploads and no host path is named. */
async function callRemote(ctx: AppContext, endpoint: ServiceEndpoint, name: RemoteCommand, options: unknown, post: Post): Promise<unknown> {
  if (name === 'commit') return commitThroughService(ctx, endpoint, options as CommitOptions, post);
  if (name !== 'build') return post(name as RemoteCommand, options as RemoteOptions[RemoteCommand]);
  const { commit, dev, ...rest } = options as BuildOptions;
  if (dev === true) throw new UsageError('bake build --dev bakes working trees and does not run through a bake service');
  if (commit === undefined || commit === false) return post('build', rest);
  // The services to commit are those the images contain, read from the caller's own checkout.
  const trees: CommitOptions =
    commit === true ? { services: servicesOf(await selectRecipes(await loadWorkspace(ctx.workspace), rest)) } : { trees: commit };
  return buildThroughService(ctx, endpoint, rest, trees, post);
}

/** Posts one command and reads its NDJSON answer: progress lines, then the result or the error. */
async function postCommand(ctx: AppContext, endpoint: ServiceEndpoint, request: RemoteRequest): Promise<unknown> {
  const res = await sendRequest(endpoint, 'POST', '/v1/commands', Buffer.from(JSON.stringify(request)), 'application/json', ctx.signal);
  if (res.statusCode !== 200) {
    const text = await readBody(res);
    let error: unknown;
    try {
      error = (JSON.parse(text) as { error?: unknown }).error;
    } catch {
      // not JSON: reported with the status below
    }
    throw remoteError(error, `the bake service answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`, 'the service refused: ');
  }
  return readAnswer(ctx, endpoint, res);
}

async function readAnswer(ctx: AppContext, endpoint: ServiceEndpoint, res: ServiceResponse): Promise<unknown> {
  const closed = (cause?: unknown) =>
    new BakeError(`the bake service at ${endpoint.base.origin} closed the connection before the command finished`, { cause });
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
