import { HttpError } from './http-error.js';

/** A bound on work running at once: each holder gets a slot, others wait in line (a bounded one). */
export interface Slots {
  /** Resolves with a release function once a slot is free; throws HttpError(503) when the line is full. */
  acquire(): Promise<() => void>;
  readonly running: number;
  readonly waiting: number;
}

/**
 * `size` slots with a line of at most `maxWaiting`. Uploads take one each, so a burst of CI jobs
 * costs `size` uploads' worth of disk bandwidth at a time rather than all of them; a waiting
 * upload's body is not read, so TCP holds its client back. Beyond the line the answer is 503 with
 * Retry-After.
 */
export function createSlots(size: number, maxWaiting: number, retryAfterSeconds = 5): Slots {
  let running = 0;
  const line: (() => void)[] = [];
  const release = () => {
    const next = line.shift();
    if (next) next();
    else running--;
  };
  return {
    async acquire() {
      if (running < size) {
        running++;
        return once(release);
      }
      if (line.length >= maxWaiting) {
        throw new HttpError(
          503,
          `the service is receiving ${running} uploads and ${line.length} more wait; retry in ${retryAfterSeconds} s`,
          {
            headers: { 'retry-after': String(retryAfterSeconds) },
          },
        );
      }
      // A slot passes straight from its releaser to the first in line: `running` stays the same.
      await new Promise<void>((resolve) => line.push(resolve));
      return once(release);
    },
    get running() {
      return running;
    },
    get waiting() {
      return line.length;
    },
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
