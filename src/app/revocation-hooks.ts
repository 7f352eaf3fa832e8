import { loadWorkspace } from '../config/workspace.js';
import type { RevocationDocument } from '../revoke/revocation-change.js';
import { buildCommandEnv } from '../util/command-env.js';
import { httpRequest } from '../util/http-client.js';
import { runShell } from '../util/exec.js';
import type { AppContext } from './context.js';

/** What telling one owner did. A failure is reported here; it never undoes the revocation. */
export interface HookOutcome {
  /** `command`: bake.yaml's hooks.revoked; `webhook`: hooks.webhook; `config`: bake.yaml could not be read. */
  kind: 'command' | 'webhook' | 'config';
  /** The command line, or the webhook's origin and path (never its query, which may hold a key). */
  target: string;
  ok: boolean;
  exitCode?: number;
  status?: number;
  /** The command's output (its last 4 KiB), or why the exchange failed. */
  output?: string;
}

const HOOK_TIMEOUT_MS = 60_000;
const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_OUTPUT = 4096;

/**
 * Tells the owners about a revoke or unrevoke: runs bake.yaml's `hooks.revoked` command in the
 * workspace with the document on standard input and the environment minus every secret
 * (buildCommandEnv: under `bake serve`, a request must not carry the service's credentials
 * anywhere), and POSTs it to `hooks.webhook`. Both come from the operator's bake.yaml, never from
 * a request. Never throws: each failure is an outcome with ok false.
 */
export async function tellOwners(ctx: AppContext, document: RevocationDocument): Promise<HookOutcome[]> {
  let hooks;
  try {
    hooks = (await loadWorkspace(ctx.workspace)).hooks;
  } catch (error) {
    return [{ kind: 'config', target: 'bake.yaml', ok: false, output: `cannot read hooks: ${(error as Error).message}` }];
  }
  const outcomes: HookOutcome[] = [];
  const body = `${JSON.stringify(document, null, 2)}\n`;
  if (hooks?.revoked !== undefined) outcomes.push(await runCommand(ctx, hooks.revoked, document.event, body));
  if (hooks?.webhook !== undefined) outcomes.push(await postWebhook(ctx, hooks.webhook, document));
  return outcomes;
}

async function runCommand(ctx: AppContext, command: string, event: string, body: string): Promise<HookOutcome> {
  ctx.progress({ kind: 'step', message: `running the revoked hook: ${command}` });
  try {
    const result = await runShell(command, {
      cwd: ctx.workspace,
      baseEnv: buildCommandEnv(ctx.env),
      env: { BAKE_HOOK: 'revoked', BAKE_EVENT: event },
      input: body,
      timeoutMs: HOOK_TIMEOUT_MS,
    });
    const ok = result.exitCode === 0;
    ctx.progress({ kind: 'done', message: `revoked hook ${ok ? 'done' : `FAILED (exit ${result.exitCode})`}` });
    return { kind: 'command', target: command, ok, exitCode: result.exitCode, output: tail(result.output) };
  } catch (error) {
    return { kind: 'command', target: command, ok: false, output: (error as Error).message };
  }
}

async function postWebhook(ctx: AppContext, url: string, document: RevocationDocument): Promise<HookOutcome> {
  const parsed = new URL(url);
  const target = `${parsed.origin}${parsed.pathname}`;
  ctx.progress({ kind: 'step', message: `posting the revocation to ${target}` });
  try {
    const response = await httpRequest(parsed, {
      method: 'POST',
      json: document,
      headers: { 'x-bake-event': document.event },
      timeoutMs: WEBHOOK_TIMEOUT_MS,
      maxBodyBytes: MAX_OUTPUT,
      ...(ctx.signal && { signal: ctx.signal }),
    });
    return {
      kind: 'webhook',
      target,
      ok: response.ok,
      status: response.status,
      ...(!response.ok && { output: tail(await response.text()) }),
    };
  } catch (error) {
    return { kind: 'webhook', target, ok: false, output: (error as Error).message };
  }
}

function tail(text: string): string {
  return text.length > MAX_OUTPUT ? `…${text.slice(-MAX_OUTPUT)}` : text;
}
