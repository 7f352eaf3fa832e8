import { BakeError, ExitCode } from '../util/errors.js';

/** How an error travels from the service to its client: what `--json` prints, plus the exit code. */
export interface ErrorDocument {
  kind: string;
  message: string;
  exitCode: number;
  [detail: string]: unknown;
}

/** The wire form of any error a use case (or the service) threw. */
export function errorDocument(error: unknown): ErrorDocument {
  if (error instanceof BakeError) return { ...error.details(), kind: error.kind, message: error.message, exitCode: error.exitCode };
  return { kind: 'internal', message: error instanceof Error ? error.message : String(error), exitCode: ExitCode.error };
}

/**
 * An error the bake service reported, rebuilt on the client with the same kind, exit code and
 * details, so a remote run's `--json` error document and exit status are a local run's.
 */
export class RemoteError extends BakeError {
  override name = 'RemoteError';
  override readonly kind: string;
  override readonly exitCode: number;
  readonly remote: Record<string, unknown>;

  constructor(document: ErrorDocument, options?: { cause?: unknown }) {
    super(document.message, options);
    const { kind, message: _message, exitCode, ...details } = document;
    this.kind = kind;
    this.exitCode = exitCode;
    this.remote = details;
  }

  override details(): Record<string, unknown> {
    return this.remote;
  }
}

/**
 * Reads an error document off the wire; anything malformed becomes an error saying `fallback`.
 * `prefix` goes before the message (a refused request says so).
 */
export function remoteError(value: unknown, fallback: string, prefix = ''): RemoteError {
  const doc = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const code = doc['exitCode'];
  // Only a failure status: a document that claimed 0 must not turn an error into a success.
  const exitCode = typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 126 ? code : ExitCode.error;
  return new RemoteError({
    ...doc,
    kind: typeof doc['kind'] === 'string' ? doc['kind'] : 'service',
    message: typeof doc['message'] === 'string' ? `${prefix}${doc['message']}` : fallback,
    exitCode,
  });
}
