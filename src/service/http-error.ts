import { BakeError, ExitCode } from '../util/errors.js';

const KINDS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  408: 'timeout',
  409: 'in-progress',
  413: 'too-large',
  415: 'unsupported-media-type',
  422: 'key-reused',
  503: 'busy',
};

/**
 * A request the service refuses before running anything: a 4xx (or a 503 to retry later) that
 * changes nothing. Its exit code is what the client exits with: 1 for a missing or too weak
 * token, a refused origin or a busy service, 2 for a bad request. `headers` go with the answer
 * (`retry-after` on a 503).
 */
export class HttpError extends BakeError {
  override name = 'HttpError';
  override readonly kind: string;
  override readonly exitCode: number;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options);
    this.status = status;
    this.kind = KINDS[status] ?? 'service';
    this.exitCode = status === 401 || status === 403 || status === 409 || status >= 500 ? ExitCode.error : ExitCode.usage;
    this.headers = options?.headers ?? {};
  }
}
