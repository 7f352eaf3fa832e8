import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { HttpError } from './http-error.js';

/** How slowly a request body may arrive before it is cut. */
export interface BodyTimeout {
  /** The window, in ms (default 30 000). */
  windowMs: number;
  /** Bytes that must arrive in each window unless the body ends in it (default 1 KiB). */
  minBytes: number;
}

export const DEFAULT_BODY_TIMEOUT: BodyTimeout = { windowMs: 30_000, minBytes: 1024 };

/**
 * `body` as a stream that fails with HttpError(408) when fewer than `minBytes` arrive in any
 * window of `windowMs` before the body ends: a stalled client and a slow-loris one (a byte a
 * second keeps a plain idle timer happy forever) are both cut within one window, and the
 * connection is closed with the answer. The clock starts when the caller starts reading, so a
 * request waiting for an upload slot is not cut. Errors of `body` (a client that went away) pass
 * through.
 */
export function timedBody(body: Readable, timeout: BodyTimeout): Readable {
  const guard = new RateGuard(timeout);
  const gone = () => new HttpError(400, 'the client closed the connection before the body ended');
  body.on('error', (error) => guard.destroy(error));
  // A client that went away (while its upload waited for a slot, say) must not hold one for a window.
  body.on('close', () => {
    if (!body.readableEnded) guard.destroy(gone());
  });
  if (body.destroyed && !body.readableEnded) queueMicrotask(() => guard.destroy(gone()));
  // The reader sees a failure through its own iteration or pipe; this listener only keeps a cut
  // that lands while nobody listens (a drained duplicate upload) from crashing the process.
  guard.on('error', () => undefined);
  body.pipe(guard);
  return guard;
}

class RateGuard extends Transform {
  private seen = 0;
  private timer: NodeJS.Timeout;

  constructor(private readonly timeout: BodyTimeout) {
    super();
    this.timer = this.arm();
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => {
      if (this.seen >= this.timeout.minBytes) {
        this.seen = 0;
        this.timer = this.arm();
        return;
      }
      const seconds = Math.round(this.timeout.windowMs / 100) / 10;
      this.destroy(
        new HttpError(408, `the request body stalled: fewer than ${this.timeout.minBytes} bytes arrived in ${seconds} s`, {
          headers: { connection: 'close' },
        }),
      );
    }, this.timeout.windowMs);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.timer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    callback(error);
  }
}
