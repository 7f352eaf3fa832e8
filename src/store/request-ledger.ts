/**
 * The requests `bake serve` replicas are running, kept in the shared store so that any replica
 * can tell when another one died mid-request: each replica beats a heartbeat row, each write
 * request has a row from its start to its end, and a request whose replica stopped beating is an
 * orphan that a live replica records as interrupted (src/service/replica.ts). A request that came
 * with an idempotency key keeps its row, with its answer, for a while after it ended, so a retry of
 * it (another replica, a dropped connection) gets that answer instead of running again.
 */
export interface RequestLedger {
  /** Where it is (`postgresql 127.0.0.1:5432/bake`), for messages. */
  readonly description: string;
  /** Creates or refreshes this replica's heartbeat row; resolves with the database's clock (ms since 1970). */
  beat(replica: ReplicaRow): Promise<number>;
  /**
   * Records that a request started. With a key another row already holds, nothing is written and
   * the answer says what that row is: still running (on which replica, how long since it beat),
   * or finished (its fingerprint and answer).
   */
  begin(request: LedgerRequest): Promise<BeginResult>;
  /** Ends a request: kept with `answer` when it had a key (for its retries), else removed. */
  finish(id: string, answer: string | undefined): Promise<void>;
  /** The unfinished requests of every replica but `self`, with what is known of their replica. */
  orphans(self: string): Promise<OrphanRequest[]>;
  /** Removes request rows (orphans once recorded). */
  forget(ids: readonly string[]): Promise<void>;
  /**
   * Removes what nothing needs any more: answers older than `answersMs`, and the rows of replicas
   * that stopped beating `replicasMs` ago and run nothing.
   */
  prune(answersMs: number, replicasMs: number): Promise<void>;
  /** Removes this replica's heartbeat row (a clean stop). */
  leave(replica: string): Promise<void>;
  close(): Promise<void>;
}

/** A replica as its heartbeat row says: `host` tells replicas on one machine (and one PID namespace) apart from others. */
export interface ReplicaRow {
  replica: string;
  host: string;
  pid: number;
  startedAt: string;
}

export interface LedgerRequest {
  id: string;
  replica: string;
  /** The caller's idempotency key, when it sent one. */
  key?: string;
  /** A digest of what was asked (command and options): a key reused for another request is refused. */
  fingerprint?: string;
  startedAt: string;
  /** The request as the service describes it (src/service/inflight.ts Job), JSON. */
  job: string;
}

export type BeginResult =
  | { kind: 'started' }
  | { kind: 'running'; id: string; replica: string; fingerprint: string | undefined; sinceBeatMs: number | undefined }
  | { kind: 'finished'; fingerprint: string | undefined; answer: string };

export interface OrphanRequest {
  id: string;
  replica: string;
  key: string | undefined;
  startedAt: string;
  job: string;
  /** From the replica's heartbeat row; undefined once that row is gone. */
  host: string | undefined;
  pid: number | undefined;
  /** How long ago its replica last beat, by the database's clock; undefined when it has no row. */
  sinceBeatMs: number | undefined;
}
