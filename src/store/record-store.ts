import { LockError, ManifestError } from '../util/errors.js';
import type { VersionManifest } from '../manifest/model.js';
import type { ChangeSet, RecordBackend, RecordReader } from './record-backend.js';
import { ENVIRONMENT_LISTS, indexedColumns, type RecordKind, SERVICE_LISTS } from './record-kinds.js';
import { LazyManifest } from './lazy-manifest.js';
import type { ManifestStore, UpdateOptions, UpdateOutcome } from './manifest-store.js';
import { RowCache } from './row-cache.js';
import { STORE_SCHEMA } from './record-tables.js';

/** A callback that still needs rows after this many runs reads everything it touches whole. */
const MAX_RUNS = 64;
const DEFAULT_TIMEOUT_MS = 120_000;
/** Writes that go to the database in one transaction at most. */
const MAX_BATCH = 64;

interface WriteJob {
  options: UpdateOptions;
  fn: (m: VersionManifest, signal: AbortSignal) => Promise<UpdateOutcome<unknown>>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  /** Whether its caller was told it waits. */
  told: boolean;
  timers: NodeJS.Timeout[];
}

/** A write queued behind another of this process this long says it waits. */
const QUEUED_NOTICE_MS = 100;

/** One change set doing what `a` then `b` do: later rows win, a rewrite drops what came before it. */
export function mergeChanges(a: ChangeSet, b: ChangeSet): ChangeSet {
  const key = (r: { kind: string; owner: string }) => `${r.kind}\u0000${r.owner}`;
  const rewritten = new Set(b.cleared.map(key));
  const rows = new Map(a.rows.filter((r) => !rewritten.has(key(r))).map((r) => [`${key(r)}\u0000${r.seq}`, r]));
  for (const r of b.rows) rows.set(`${key(r)}\u0000${r.seq}`, r);
  const lengths = new Map([...a.lengths, ...b.lengths].map((l) => [key(l), l]));
  const cleared = new Map([...a.cleared, ...b.cleared].map((c) => [key(c), c]));
  return { generation: b.generation, cleared: [...cleared.values()], rows: [...rows.values()], lengths: [...lengths.values()] };
}

/**
 * The version manifest over a database (record-backend.ts): every update is one write transaction
 * of the backend, the callback sees a lazy manifest (lazy-manifest.ts), and only the rows it
 * changed are written. With an asynchronous driver a callback that touches rows not read yet is
 * run again once they are (see row-cache.ts), inside the same transaction.
 */
export class RecordStore implements ManifestStore {
  constructor(
    private readonly backend: RecordBackend,
    /** Names the store in errors (the database file or URL without credentials). */
    private readonly location: string,
  ) {}

  get description(): string {
    return this.backend.description;
  }

  /**
   * Writes queue up and go to the database in batches (group commit): while one transaction runs,
   * the writes that arrive wait, then all of them run in the next one, each callback after the
   * other against what the ones before it wrote (row-cache.ts absorb), each with its own
   * generation, and the database gets their rows in one statement. One callback that throws writes
   * nothing and leaves the others alone; a write the database refuses fails the whole batch.
   */
  update<T>(options: UpdateOptions, fn: (m: VersionManifest, signal: AbortSignal) => Promise<UpdateOutcome<T>>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: WriteJob = { options, fn, resolve: resolve as (value: unknown) => void, reject, told: false, timers: [] };
      if (this.#draining) {
        // Queued behind a transaction of this process: that is waiting too, and it has the same bounds.
        const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        job.timers.push(setTimeout(() => this.#tell(job), this.#lockBusy ? 0 : QUEUED_NOTICE_MS));
        job.timers.push(
          setTimeout(() => {
            const at = this.#queue.indexOf(job);
            if (at < 0) return;
            this.#queue.splice(at, 1);
            reject(new LockError(`timed out after ${timeoutMs} ms waiting for the write lock of ${this.location} (to ${options.purpose})`));
          }, timeoutMs),
        );
      }
      this.#queue.push(job);
      void this.#drain();
    });
  }

  readonly #queue: WriteJob[] = [];
  #running: WriteJob[] = [];
  #draining = false;
  /** The running batch is waiting for another writer's lock. */
  #lockBusy = false;

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const jobs = this.#queue.splice(0, MAX_BATCH);
        for (const job of jobs) for (const timer of job.timers) clearTimeout(timer);
        await this.#batch(jobs);
        this.#lockBusy = false;
      }
    } finally {
      this.#draining = false;
    }
  }

  /** Says once to a job's caller that its write waits. */
  #tell(job: WriteJob): void {
    if (job.told || (!this.#queue.includes(job) && !this.#running.includes(job))) return;
    job.told = true;
    job.options.onWait?.(undefined);
  }

  async #batch(jobs: WriteJob[]): Promise<void> {
    const signal = new AbortController().signal;
    const wait = {
      purpose: jobs.map((j) => j.options.purpose).join('; '),
      timeoutMs: Math.min(...jobs.map((j) => j.options.timeoutMs ?? DEFAULT_TIMEOUT_MS)),
      onWait: () => {
        this.#lockBusy = true;
        for (const j of [...jobs, ...this.#queue]) this.#tell(j);
      },
    };
    this.#running = jobs;
    const outcomes = new Map<WriteJob, { value: unknown } | { error: unknown }>();
    try {
      await this.backend.write(async (tx) => {
        const cache = await this.#start(tx);
        let pending: ChangeSet | undefined;
        for (const job of jobs) {
          try {
            const value = await this.#run(cache, async (lazy) => {
              const { result, write } = await job.fn(lazy.manifest, signal);
              const plain = materialize(result);
              if (write && cache.missed === undefined) {
                const changes = lazy.changes(cache.generation + 1);
                cache.absorb(changes);
                pending = pending ? mergeChanges(pending, changes) : changes;
              }
              return plain;
            });
            outcomes.set(job, { value });
          } catch (error) {
            outcomes.set(job, { error });
          }
        }
        if (pending) await tx.apply(pending);
      }, wait);
    } catch (error) {
      for (const job of jobs) job.reject(error);
      return;
    }
    for (const job of jobs) {
      const outcome = outcomes.get(job);
      if (outcome && 'value' in outcome) job.resolve(outcome.value);
      else job.reject(outcome?.error);
    }
  }

  async view<T>(fn: (m: VersionManifest) => T | Promise<T>): Promise<T> {
    return this.backend.read(async (tx) => {
      const cache = await this.#start(tx);
      return this.#run(cache, async (lazy) => materialize(await fn(lazy.manifest)));
    });
  }

  async read(): Promise<VersionManifest> {
    if (!this.backend.synchronous) return this.snapshot();
    return this.backend.read(async (tx) => new LazyManifest(await this.#start(tx)).manifest);
  }

  async snapshot(): Promise<VersionManifest> {
    return pruneEmpty(await this.view((m) => m));
  }

  async generation(): Promise<number> {
    return this.backend.read(async (tx) => (await tx.meta())?.generation ?? 0);
  }

  async import(manifest: VersionManifest): Promise<void> {
    await this.backend.write(
      async (tx) => {
        const meta = await tx.meta();
        if ((await tx.lists()).length > 0 || (meta?.generation ?? 0) > 0) {
          throw new ManifestError(
            `${this.location} already holds records (generation ${meta?.generation ?? 0}); bake migrate imports only into an empty store. Export it first (bake export) if you mean to replace it`,
            this.location,
          );
        }
        await tx.apply(explode(manifest));
      },
      { purpose: 'import a manifest', timeoutMs: DEFAULT_TIMEOUT_MS },
    );
  }

  close(): Promise<void> {
    return this.backend.close();
  }

  async #start(tx: RecordReader): Promise<RowCache> {
    const cache = await RowCache.start(tx);
    if (cache.meta && cache.meta.schema > STORE_SCHEMA) {
      throw new ManifestError(
        `${this.location} has store schema ${cache.meta.schema}, newer than this bake understands (${STORE_SCHEMA}); upgrade bake. Nothing was changed`,
        this.location,
      );
    }
    return cache;
  }

  /** Runs `attempt` until it completes without touching rows the cache had to read first. */
  async #run<T>(cache: RowCache, attempt: (lazy: LazyManifest) => Promise<T>): Promise<T> {
    for (let run = 1; ; run++) {
      cache.missed = undefined;
      try {
        const value = await attempt(new LazyManifest(cache));
        if (cache.missed === undefined) return value;
      } catch (error) {
        // A miss the callback caught and turned into another error still discards the run.
        if (cache.missed === undefined) throw error;
      }
      if (run >= MAX_RUNS) throw new Error(`store: a callback still needed rows after ${MAX_RUNS} runs`);
      await cache.load(cache.missed);
    }
  }
}

/**
 * A deep copy of a callback's result in plain objects and arrays, made while the lazy lists in it
 * can still read their rows. Other objects (errors, class instances) are kept as they are.
 */
export function materialize<T>(value: T, depth = 0): T {
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return Array.from(value, (item) => materialize(item, depth + 1)) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = materialize(item, depth + 1);
  return out as T;
}

/** Every record of a plain manifest as rows of one change set (bake migrate). */
export function explode(manifest: VersionManifest): ChangeSet {
  const set: ChangeSet = { generation: manifest.generation, cleared: [], rows: [], lengths: [] };
  const add = (kind: RecordKind, owner: string, records: readonly object[] | undefined) => {
    if (records === undefined) return;
    records.forEach((record, seq) => {
      set.rows.push({ kind, owner, seq, body: JSON.stringify(record), ...indexedColumns(kind, record) });
    });
    set.lengths.push({ kind, owner, length: records.length });
  };
  for (const [service, history] of Object.entries(manifest.services)) {
    for (const [prop, kind] of Object.entries(SERVICE_LISTS)) add(kind, service, (history as unknown as Record<string, object[]>)[prop]);
  }
  for (const [image, builds] of Object.entries(manifest.builds)) add('build', image, builds);
  for (const [env, record] of Object.entries(manifest.environments)) {
    for (const [prop, kind] of Object.entries(ENVIRONMENT_LISTS))
      add(kind, env, (record as unknown as Record<string, object[]>)[prop] ?? []);
    add('live', env, [record.live ?? {}]);
  }
  add('interrupted', '', manifest.interrupted);
  return set;
}

/** Drops the optional lists that are empty, so a snapshot has the shape a manifest file has. */
function pruneEmpty(m: VersionManifest): VersionManifest {
  for (const history of Object.values(m.services)) {
    if (history.refusals?.length === 0) delete history.refusals;
    if (history.revocations?.length === 0) delete history.revocations;
  }
  for (const env of Object.values(m.environments)) if (env.changes?.length === 0) delete env.changes;
  if (m.interrupted?.length === 0) delete m.interrupted;
  return m;
}
