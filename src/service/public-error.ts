import { TarLimitError } from '../layer/safe-tar.js';
import { type BakeError, ExitCode } from '../util/errors.js';
import { classifyError } from '../util/internal-error.js';
import { HttpError } from './http-error.js';
import { errorDocument, type ErrorDocument } from './remote-error.js';

/**
 * What a remote client may learn from a failure: a classified error (an unclassified one becomes
 * kind `internal` with the operation and a fix, never a stack) with the service's own workspace
 * path turned into paths relative to it (`.bake/manifest.json`), so an answer names nothing of
 * the server's file system the client does not already know. With `debug` (BAKE_DEBUG on the
 * service) paths are left as they are; stacks never travel, the service logs them.
 */
export function publicError(error: unknown, workspace: string, debug: boolean): { status: number; document: ErrorDocument } {
  const classified = classifyError(error);
  const document = errorDocument(classified);
  return { status: statusOf(classified), document: debug ? document : (redact(document, workspace, 0) as ErrorDocument) };
}

/** The HTTP status of a failure before the answer started: a 4xx for what the client sent, else 500. */
function statusOf(error: BakeError): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof TarLimitError) return 413;
  return error.exitCode === ExitCode.usage ? 400 : 500;
}

function redact(value: unknown, workspace: string, depth: number): unknown {
  if (typeof value === 'string') return value.split(`${workspace}/`).join('').split(workspace).join('.');
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, workspace, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redact(item, workspace, depth + 1)]));
}
