import { BakeError, RemoteStatusError } from '../util/errors.js';

/** The Docker engine answered with an error; `statusCode` is what callers branch on. */
export class EngineError extends RemoteStatusError {
  override name = 'EngineError';
  override readonly kind: string = 'engine';

  get statusCode(): number | undefined {
    return this.status;
  }
}

/** No engine answers at the configured address. */
export class EngineUnavailableError extends BakeError {
  override name = 'EngineUnavailableError';
  override readonly kind: string = 'engine-unavailable';
  readonly address: string;

  constructor(address: string, options?: { cause?: unknown }) {
    super(`no Docker engine answers at ${address} (start one: dockerd >/tmp/dockerd.log 2>&1 &, or set DOCKER_HOST)`, options);
    this.address = address;
  }

  override details(): Record<string, unknown> {
    return { address: this.address };
  }
}
