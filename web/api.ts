import {
  type ActionLine,
  type ActionRequest,
  DASHBOARD_API,
  type ErrorAnswer,
  type ErrorDocument,
  type ReadAnswers,
  type SessionAnswer,
} from '../src/dashboard/api-types.js';

/** A read the service answered with an error document. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly document: ErrorDocument,
  ) {
    super(document.message);
  }
}

const headers = (token: string | null): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** Who the service takes this token for (role null: not accepted, or none given). */
export async function getSession(token: string | null): Promise<SessionAnswer> {
  const res = await fetch(DASHBOARD_API.session, { headers: headers(token), cache: 'no-store' });
  return (await res.json()) as SessionAnswer;
}

/** One read of a view; `params` become its query string (empty values are left out). */
export async function getView<K extends keyof ReadAnswers>(
  view: K,
  params: Record<string, string | number | undefined>,
  token: string | null,
): Promise<ReadAnswers[K]> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, String(value));
  const qs = query.toString();
  const res = await fetch(`${DASHBOARD_API[view]}${qs ? `?${qs}` : ''}`, { headers: headers(token), cache: 'no-store' });
  const body = (await res.json()) as ReadAnswers[K] | ErrorAnswer;
  if (!res.ok || 'error' in body) {
    const document = 'error' in body ? body.error : { kind: 'service', message: `HTTP ${res.status}`, exitCode: 1 };
    throw new ApiError(res.status, document);
  }
  return body;
}

/**
 * Sends an action and reads its NDJSON answer line by line: `onProgress` for each step, then
 * resolves with the last line — the use case's result or its error (a refusal included).
 */
export async function postAction(request: ActionRequest, token: string | null, onProgress: (message: string) => void): Promise<ActionLine> {
  const res = await fetch(DASHBOARD_API.actions, {
    method: 'POST',
    headers: { ...headers(token), 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as Partial<ErrorAnswer>;
    return { error: { ...(body.error ?? { kind: 'service', message: `HTTP ${res.status}`, exitCode: 1 }), refused: true } };
  }
  let last: ActionLine = { error: { kind: 'service', message: 'the service ended the answer early', exitCode: 1, refused: false } };
  let buffer = '';
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const text of lines) {
      if (!text.trim()) continue;
      const line = JSON.parse(text) as ActionLine;
      if ('progress' in line) onProgress(line.progress.message);
      else last = line;
    }
  }
  return last;
}
