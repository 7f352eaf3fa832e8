import { BakeError, ExitCode } from '../util/errors.js';

const KINDS: Record<number, string> = { 400: 'bad-request', 401: 'unauthorized', 403: 'forbidden', 404: 'not-found', 413: 'too-large' };

/**
 * A request the service refuses before running anything: a 4xx that changes nothing. Its exit
 * code is what the client exits with: 1 for a missing or too weak token, 2 for a bad request.
 */
export class HttpError extends BakeError {
  override name = 'HttpError';
  override readonly kind: string;
  override readonly exitCode: number;
  readonly status: number;

  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.kind = KINDS[status] ?? 'service';
    this.exitCode = status === 401 || status === 403 ? ExitCode.error : status < 500 ? ExitCode.usage : ExitCode.error;
  }
}
