import { BakeError } from '../errors.js';

/** The Docker engine answered with an error; `statusCode` is what callers branch on. */
export class EngineError extends BakeError {
  override name = 'EngineError';
  override readonly kind: string = 'engine';
  readonly statusCode: number | undefined;

  constructor(message: string, statusCode: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.statusCode = statusCode;
  }

  override details(): Record<string, unknown> {
    return { statusCode: this.statusCode ?? null };
  }
}

/** No engine answers at the configured address. */
export class EngineUnavailableError extends BakeError {
  override name = 'EngineUnavailableError';
  override readonly kind: string = 'engine-unavailable';
  readonly address: string;

  constructor(address: string, options?: { cause?: unknown }) {
    super(
      `no Docker engine answers at ${address} (start one: dockerd >/tmp/dockerd.log 2>&1 &, or set DOCKER_HOST)`,
      options,
    );
    this.address = address;
  }

  override details(): Record<string, unknown> {
    return { address: this.address };
  }
}
