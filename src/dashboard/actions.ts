import type { ServerResponse } from 'node:http';
import { ENVIRONMENT_NAME } from '../config/names.js';
import { HttpError } from '../service/http-error.js';
import { publicError } from '../service/public-error.js';
import { recordedActor, type Grant } from '../service/tokens.js';
import { ExitCode } from '../util/errors.js';
import type { ProgressEvent } from '../util/progress.js';
import type { ActionLine, ActionRequest } from './api-types.js';
import { API_HEADERS } from './headers.js';
import type { Runner } from './runner.js';

/** A feature name: it travels in a header to every instance, so nothing but a plain word. */
const FEATURE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Who the page's actions are recorded as, under the token's name when the token file gives one. */
const PAGE_ACTOR = 'dashboard';

/**
 * Checks a POSTed action: `{action, env}` for promote, abort and rollback, `{action: 'toggle', env,
 * feature, on}` for a toggle, nothing else. Throws HttpError(400) naming what is wrong.
 */
export function parseAction(body: unknown): ActionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('expected a JSON object {"action", "env", …}');
  const { action, env, feature, on, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw bad(`unknown field ${JSON.stringify(extra[0]?.slice(0, 40))}`);
  if (typeof env !== 'string' || !ENVIRONMENT_NAME.test(env)) throw bad('env must name an environment');
  if (action === 'promote' || action === 'abort' || action === 'rollback') {
    if (feature !== undefined || on !== undefined) throw bad(`${action} takes only an env`);
    return { action, env };
  }
  if (action === 'toggle') {
    if (typeof feature !== 'string' || !FEATURE.test(feature)) throw bad('feature must be a name of letters, digits, ".", "_" and "-"');
    if (typeof on !== 'boolean') throw bad('on must be true or false');
    return { action, env, feature, on };
  }
  throw bad('action must be promote, abort, rollback or toggle');
}

/**
 * Runs an action through the same use case as `bake promote|abort|rollback|toggle`, so the same
 * gate refuses it the same way, and answers as `POST /v1/commands` does: 200 and NDJSON lines,
 * `{progress}` while it runs, then `{result}` or `{error}` (the document `--json` prints). A read
 * token's action is refused in that same way, before anything runs: the page shows every refusal
 * alike, and a browser logs no failed request for it. Never throws once the answer has started.
 */
export async function runAction(
  res: ServerResponse,
  runner: Runner,
  grant: Grant,
  request: ActionRequest,
  redact: { workspace: string; debug: boolean },
): Promise<void> {
  res.writeHead(200, { ...API_HEADERS, 'content-type': 'application/x-ndjson' });
  const line = (value: ActionLine) => {
    if (!res.destroyed) res.write(`${JSON.stringify(value)}\n`);
  };
  try {
    if (grant.role !== 'write') {
      throw new HttpError(403, `${request.action} needs a write token: this token may only read (it sees everything and changes nothing)`);
    }
    const as = { actor: recordedActor(grant, PAGE_ACTOR), progress: (progress: ProgressEvent) => line({ progress }) };
    const { env } = request;
    const result =
      request.action === 'toggle'
        ? await runner('toggle', { env, feature: request.feature, on: request.on }, as)
        : request.action === 'promote'
          ? await runner('promote', { env }, as)
          : request.action === 'abort'
            ? await runner('abort', { env }, as)
            : await runner('rollback', { env }, as);
    line({ result });
  } catch (error) {
    const { document } = publicError(error, redact.workspace, redact.debug);
    line({ error: { ...document, refused: document.exitCode === ExitCode.refused || document.kind === 'forbidden' } });
  } finally {
    res.end();
  }
}

function bad(message: string): HttpError {
  return new HttpError(400, message);
}
