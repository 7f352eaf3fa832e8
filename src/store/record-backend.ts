import type { RecordKind, RecordRow, StoredRow } from './record-kinds.js';

/**
 * What a database must do to hold the version manifest: keep rows and list lengths (record-kinds.ts),
 * answer four kinds of read, and apply one change set per write transaction, with every write
 * transaction serialized against every other writer on every host. A new backend is one file that
 * implements this (sqlite-backend.ts, postgres-backend.ts); record-store.ts does the rest.
 */
export interface RecordBackend {
  /** What the backend is, for messages and `bake status` (`sqlite /ws/.bake/state.db`, `postgresql 127.0.0.1:5432/bake`). */
  readonly description: string;
  /** Its reader answers `rowsSync`, also after `read` returned (SQLite): a lazy manifest can outlive the call. */
  readonly synchronous: boolean;
  /**
   * Runs `fn` inside the one write transaction: no other writer anywhere runs between its first
   * read and its commit. Calls `onWait` once if it has to wait for another writer; gives up with
   * LockError after `timeoutMs`. When `fn` throws, nothing is written.
   */
  write<T>(fn: (tx: RecordTransaction) => Promise<T>, wait: WriteWait): Promise<T>;
  /** Runs `fn` against the committed state without taking the write lock. */
  read<T>(fn: (tx: RecordReader) => Promise<T>): Promise<T>;
  /** Releases connections; the backend is unusable afterwards. */
  close(): Promise<void>;
}

export interface WriteWait {
  /** Why the write lock is wanted (for whoever waits). */
  purpose: string;
  timeoutMs: number;
  onWait?: () => void;
}

export interface StoreMeta {
  /** The store's schema version (record-store.ts STORE_SCHEMA). */
  schema: number;
  generation: number;
}

/** One list's length (its owner exists even when the length is 0). */
export interface ListLength {
  kind: RecordKind;
  owner: string;
  length: number;
}

/** What to read. Each answers whole rows. */
export type RowQuery =
  /** These positions of one list. */
  | { kind: RecordKind; owner: string; seqs: number[] }
  /** All of one list. */
  | { kind: RecordKind; owner: string; all: true }
  /**
   * The last row of every list of a kind (the latest version of every service), at the lengths given:
   * those the reader saw at its start, so an append that committed since cannot make a tail go missing.
   */
  | { kind: RecordKind; tails: { owner: string; seq: number }[] }
  /** Rows whose indexed field equals a value (record-kinds.ts INDEXED_FIELDS), in one list or all of a kind. */
  | { kind: RecordKind; owner?: string; field: string; value: string };

export interface RecordReader {
  /** The meta row; undefined for a store nothing was ever written to. */
  meta(): Promise<StoreMeta | undefined>;
  lists(): Promise<ListLength[]>;
  rows(query: RowQuery): Promise<RecordRow[]>;
  /** The same, answered at once: backends whose driver is synchronous (SQLite) offer it, so nothing is re-run. */
  rowsSync?(query: RowQuery): RecordRow[];
  /**
   * The last row of every list, read with the start by a backend for which each read is a round
   * trip (PostgreSQL): most commands need only those, so they run once.
   */
  warm?: RecordRow[];
  /**
   * The meta row, every list's length and every list's last row at once, from one snapshot and in
   * one round trip: what a reader starts from (row-cache.ts), offered by a backend for which each
   * read is a round trip (PostgreSQL). Without it, meta() and lists() are read.
   */
  start?(): Promise<{ meta: StoreMeta | undefined; lists: ListLength[]; warm: RecordRow[] }>;
}

/** Everything one write changes. Rows replace rows at the same (kind, owner, seq). */
export interface ChangeSet {
  generation: number;
  /** Lists whose rows are all removed before `rows` are written (a list rewritten or removed). */
  cleared: { kind: RecordKind; owner: string }[];
  rows: StoredRow[];
  /** New lengths; a list with `length: -1` is removed with its owner's entry. */
  lengths: ListLength[];
}

export interface RecordTransaction extends RecordReader {
  apply(changes: ChangeSet): Promise<void>;
}
