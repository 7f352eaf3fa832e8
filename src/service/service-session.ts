import type { AppContext } from '../app/context.js';
import { type BakeError, UsageError } from '../util/errors.js';
import { type ServiceEndpoint, serviceEndpoints } from './endpoint.js';

/** How long a client keeps retrying a replica that does not answer, with several URLs (BAKE_SERVICE_RETRY_SECONDS). */
const DEFAULT_RETRY_SECONDS = 60;
/** How long it waits at most for a run of its request that another replica is still making (409). */
const RUNNING_WAIT_MS = 60 * 60_000;

/**
 * One command's conversation with the bake service: the replicas it may talk to (BAKE_SERVICE or
 * --service-url: one URL, or several separated by commas), the one in use, and how long a failure
 * that another try may cure is retried. Such failures are: no answer at all, an answer cut short,
 * and 502/503/504 (a load balancer without a healthy replica, a replica that cannot reach the
 * store); each moves to the next URL. A retry sends the same idempotency key, so the service runs
 * the request once (server.ts). With one URL nothing is retried unless BAKE_SERVICE_RETRY_SECONDS
 * says for how long (behind a load balancer the next try reaches another replica); with several,
 * 60 s by default. Uploads are remembered so a replica that lacks one gets it again.
 */
export class ServiceSession {
  readonly endpoints: readonly ServiceEndpoint[];
  #index = 0;
  readonly #retryMs: number;
  #failingSince: number | undefined;
  #failures = 0;
  /** How to upload a tree (by hex digest) again, to the endpoint given. */
  readonly reuploads = new Map<string, (endpoint: ServiceEndpoint) => Promise<void>>();

  constructor(urls: string, env: NodeJS.ProcessEnv) {
    this.endpoints = serviceEndpoints(urls, env);
    this.#retryMs = retrySeconds(env, this.endpoints.length) * 1000;
  }

  /** The endpoint requests go to now. */
  get current(): ServiceEndpoint {
    return this.endpoints[this.#index] as ServiceEndpoint;
  }

  /** Resets the retry window: the service answered. */
  answered(): void {
    this.#failingSince = undefined;
    this.#failures = 0;
  }

  /**
   * After a failure at `failed` another try may cure: moves on to the next endpoint, waits (`afterMs`, else a
   * short backoff) and resolves, or throws `error` when the retry window is spent or the command
   * was interrupted. Says what it does as a wait event.
   */
  async retry(ctx: AppContext, error: BakeError, failed: ServiceEndpoint, afterMs?: number): Promise<void> {
    const now = Date.now();
    this.#failingSince ??= now;
    if (ctx.signal?.aborted || now - this.#failingSince >= this.#retryMs) throw error;
    const from = failed.base.origin;
    // Requests running side by side fail together: only the first moves the session on.
    if (this.current === failed) this.#index = (this.#index + 1) % this.endpoints.length;
    // Every endpoint is tried once at once; after that the pause doubles, from 250 ms to 4 s.
    const rounds = Math.floor(this.#failures++ / this.endpoints.length);
    const backoff = this.#failures <= this.endpoints.length - 1 ? 0 : Math.min(4000, 250 * 2 ** rounds);
    const wait = Math.min(afterMs ?? backoff, Math.max(0, this.#failingSince + this.#retryMs - now));
    const where = this.current.base.origin === from ? 'again' : `at ${this.current.base.origin}`;
    ctx.progress({ kind: 'wait', message: `${error.message}; retrying ${where}` });
    await sleep(wait, ctx.signal);
  }

  /**
   * While another replica still runs this very request (409, after a dropped answer): waits as the
   * service asks and resolves, or throws `error` after an hour or when interrupted.
   */
  async awaitRun(ctx: AppContext, error: BakeError, afterMs: number, since: number): Promise<void> {
    if (ctx.signal?.aborted || Date.now() - since > RUNNING_WAIT_MS) throw error;
    await sleep(afterMs, ctx.signal);
  }

  /** Uploads again, to `endpoint`, every upload it names that this command made; false when one is unknown here. */
  async reupload(missing: readonly string[], endpoint: ServiceEndpoint): Promise<boolean> {
    const uploads = missing.map((hex) => this.reuploads.get(hex));
    if (uploads.some((u) => u === undefined)) return false;
    for (const upload of uploads) await upload?.(endpoint);
    return true;
  }
}

/** The Retry-After of an answer in ms (seconds or a date), bounded to a minute; undefined when absent. */
export function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.min(60_000, Math.max(0, seconds * 1000)) : undefined;
}

function retrySeconds(env: NodeJS.ProcessEnv, endpoints: number): number {
  const raw = env['BAKE_SERVICE_RETRY_SECONDS'];
  if (raw === undefined || raw === '') return endpoints > 1 ? DEFAULT_RETRY_SECONDS : 0;
  const seconds = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds > 3600) {
    throw new UsageError(`BAKE_SERVICE_RETRY_SECONDS takes whole seconds from 0 to 3600, got ${JSON.stringify(raw)}`);
  }
  return seconds;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
