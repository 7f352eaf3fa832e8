import { createLogger } from '../util/log.js';
import { HttpError } from './http-error.js';
import { assertSameRequest } from './idempotency.js';
import { type Inflight, type Job, type RequestKey, storeUnreachable } from './inflight.js';

const log = createLogger('service');

/** The service's side of a write request's bookkeeping (inflight.ts), as HTTP answers. */
export interface WriteRequests {
  /**
   * Marks a write request as running. Resolves undefined when it is to run, or with the answer of
   * the run that already answered its key (to send again); throws HttpError 409 while that run is
   * still going on at a live replica, 422 for a key reused with another request, 503 when the
   * store cannot be reached now (the client retries).
   */
  begin(job: Job, key: RequestKey | undefined): Promise<string | undefined>;
  /** A request that never ran (refused after begin): its key is free again. */
  abandon(job: Job, key: RequestKey | undefined): Promise<void>;
  /**
   * Ends a request after its answer was sent (so the caller does not wait for the store; a retry
   * meanwhile gets 409, then the answer). Retried for a while when the store cannot be reached,
   * since an unended keyed request would answer "running" to its retries.
   */
  end(job: Job, key: RequestKey | undefined, answer: string): void;
  /** Waits (at most `ms`) for the ends still under way. */
  settle(ms: number): Promise<void>;
}

export function writeRequests(inflight: Inflight): WriteRequests {
  const pending = new Set<Promise<void>>();
  return {
    async begin(job, key) {
      let begun: Awaited<ReturnType<Inflight['begin']>>;
      try {
        begun = await inflight.begin(job, key);
      } catch (error) {
        if (!storeUnreachable(error)) throw error;
        throw new HttpError(503, `the store cannot record the request right now (${(error as Error).message}); retry`, {
          cause: error,
          headers: { 'retry-after': '2' },
        });
      }
      if (begun.kind === 'started' || !key) return undefined;
      assertSameRequest(key, begun.fingerprint);
      if (begun.kind === 'finished') return begun.answer;
      throw new HttpError(409, `this request (idempotency key ${key.key}) is still running on ${begun.replica}; retry to get its answer`, {
        headers: { 'retry-after': '1' },
      });
    },
    abandon: (job, key) => inflight.end(job, key, undefined),
    end(job, key, answer) {
      const attempt = async (tries: number): Promise<void> => {
        try {
          await inflight.end(job, key, answer);
        } catch (error) {
          if (tries >= 60) return log.debug('could not end a request in the ledger', { id: job.id, error: String(error) });
          await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** Math.min(tries, 6))));
          return attempt(tries + 1);
        }
      };
      const ending: Promise<void> = attempt(0).finally(() => pending.delete(ending));
      pending.add(ending);
    },
    async settle(ms) {
      await Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, ms).unref())]);
    },
  };
}
