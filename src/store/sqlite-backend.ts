import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LockError, ManifestError } from '../util/errors.js';
import type { LedgerSql, LedgerValue } from './ledger-sql.js';
import type {
  ChangeSet,
  ListLength,
  RecordBackend,
  RecordReader,
  RecordTransaction,
  RowQuery,
  StoreMeta,
  WriteWait,
} from './record-backend.js';
import { indexColumn, type RecordKind, type RecordRow } from './record-kinds.js';
import { RECORD_TABLES, STORE_SCHEMA } from './record-tables.js';

/**
 * The embedded store: one SQLite file in `.bake/` (better-sqlite3, its one owner). WAL mode, so
 * readers never wait for the writer; a write is `BEGIN IMMEDIATE` … `COMMIT` with a full sync.
 * Another process holding the write lock is waited for without blocking the event loop (the busy
 * timeout is 0 and we poll), and writers in this process queue behind each other because they
 * share the connection. The driver is synchronous, so a callback never has to run twice.
 */
export class SqliteBackend implements RecordBackend, LedgerSql {
  readonly description: string;
  readonly synchronous = true;
  readonly dialect = 'sqlite';
  #db: Database.Database | undefined;
  /** Reads outside a write use their own connection: in WAL mode it sees only committed rows. */
  #readDb: Database.Database | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** The request ledger's connection (ledger-sql.ts): its statements never join a record write awaiting its callback. */
  #ledgerDb: Database.Database | undefined;

  constructor(private readonly file: string) {
    this.description = `sqlite ${file}`;
  }

  async write<T>(fn: (tx: RecordTransaction) => Promise<T>, wait: WriteWait): Promise<T> {
    const run = this.#queue.then(() => this.#write(fn, wait));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async read<T>(fn: (tx: RecordReader) => Promise<T>): Promise<T> {
    // A store never written to reads as empty, and reading must not create `.bake/`.
    if (!this.#readDb && !existsSync(this.file)) return fn(EMPTY);
    if (!this.#readDb) {
      this.#open(true);
      this.#readDb = this.#connect();
    }
    return fn(this.#reader(this.#readDb));
  }

  async close(): Promise<void> {
    await this.#queue;
    this.#db?.close();
    this.#readDb?.close();
    this.#ledgerDb?.close();
    this.#db = undefined;
    this.#readDb = undefined;
    this.#ledgerDb = undefined;
  }

  /**
   * One request-ledger statement (ledger-sql.ts), autocommitted on the ledger's own connection (the
   * ledger keeps a file of its own, so its writes never queue behind a long record write). A write
   * lock another connection holds is waited for by polling (up to 30 s), never by blocking the event loop.
   */

  async statement(sql: string, params: readonly LedgerValue[] = []): Promise<Record<string, unknown>[]> {
    if (!this.#ledgerDb) {
      mkdirSync(dirname(this.file), { recursive: true });
      const db = this.#connect();
      db.pragma('journal_mode = WAL');
      // Polled below, never waited for inside SQLite (that would stop the event loop).
      db.pragma('busy_timeout = 0');
      // The ledger says which requests run, for finding those a crash interrupted: it must survive
      // a process crash (WAL with NORMAL does), not a power cut, and an fsync per request would
      // cost more than the request. The records keep FULL.
      db.pragma('synchronous = NORMAL');
      this.#ledgerDb = db;
    }
    const db = this.#ledgerDb;
    const args = params.length > 0 ? [Object.fromEntries(params.map((value, i) => [`p${i + 1}`, value]))] : [];
    const deadline = Date.now() + 30_000;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        const prepared = statement(db, sql.replace(/\$(\d+)/g, '@p$1'));
        if (prepared.reader) return prepared.all(...args) as Record<string, unknown>[];
        prepared.run(...args);
        return [];
      } catch (error) {
        const busy = (error as { code?: string }).code?.startsWith('SQLITE_BUSY') === true;
        if (!busy || Date.now() > deadline) throw this.#error('cannot run a request-ledger statement on', error);
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }

  async #write<T>(fn: (tx: RecordTransaction) => Promise<T>, wait: WriteWait): Promise<T> {
    const db = this.#open(true);
    await this.#begin(db, wait);
    try {
      const reader = this.#reader(db);
      const result = await fn({ ...reader, apply: async (changes) => apply(db, changes) });
      db.exec('COMMIT');
      return result;
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
    }
  }

  /** Takes the write lock, polling while another process holds it. */
  async #begin(db: Database.Database, wait: WriteWait): Promise<void> {
    const deadline = Date.now() + wait.timeoutMs;
    let told = false;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      try {
        // Polled here, not waited for inside SQLite: a synchronous wait would stop the event loop.
        statement(db, 'PRAGMA busy_timeout = 0').get();
        statement(db, 'BEGIN IMMEDIATE').run();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw this.#error('cannot begin a write', error);
      } finally {
        statement(db, `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`).get();
      }
      if (!told) wait.onWait?.();
      told = true;
      if (Date.now() > deadline) {
        throw new LockError(`timed out after ${wait.timeoutMs} ms waiting for another writer of ${this.file} (to ${wait.purpose})`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    }
  }

  #open(create = false): Database.Database {
    if (this.#db) return this.#db;
    if (create) mkdirSync(dirname(this.file), { recursive: true });
    const db = this.#connect();
    try {
      db.pragma('journal_mode = WAL');
      db.exec(RECORD_TABLES);
    } catch (error) {
      db.close();
      throw this.#error('cannot set up', error);
    }
    this.#db = db;
    return db;
  }

  #connect(): Database.Database {
    try {
      // Opening, setting up and reading wait (briefly) for the moments another process holds the
      // file exclusively: recovering or removing its write-ahead log when its last connection closes.
      const db = new Database(this.file, { timeout: BUSY_TIMEOUT_MS });
      db.pragma('synchronous = FULL');
      return db;
    } catch (error) {
      throw this.#error('cannot open', error);
    }
  }

  #reader(db: Database.Database): RecordReader {
    const rows = (query: RowQuery): RecordRow[] => selectRows(db, query);
    return {
      meta: async () => statement(db, 'SELECT schema, generation FROM bake_meta WHERE id = 1').get() as StoreMeta | undefined,
      lists: async () => statement(db, 'SELECT kind, owner, length FROM bake_lists').all() as ListLength[],
      rows: async (query) => rows(query),
      rowsSync: rows,
    };
  }

  #error(what: string, error: unknown): ManifestError {
    return new ManifestError(`${what} the store ${this.file}: ${(error as Error).message}`, this.file, { cause: error });
  }
}

/** How long a statement other than BEGIN IMMEDIATE waits for a lock another process holds. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * A connection's prepared statements (records and request ledger alike), by their SQL: preparing
 * compiles the statement, and every write prepared the same half dozen again (with the two
 * busy_timeout pragmas around its BEGIN). Every statement here has fixed SQL (positions and tails
 * go in as JSON), so the bound is only a guard.
 */
const prepared = new WeakMap<Database.Database, Map<string, Database.Statement>>();
const MAX_PREPARED = 64;

function statement(db: Database.Database, sql: string): Database.Statement {
  let statements = prepared.get(db);
  if (!statements) prepared.set(db, (statements = new Map()));
  let found = statements.get(sql);
  if (!found) {
    found = db.prepare(sql);
    if (statements.size < MAX_PREPARED) statements.set(sql, found);
  }
  return found;
}

const EMPTY: RecordReader = { meta: async () => undefined, lists: async () => [], rows: async () => [], rowsSync: () => [] };

function selectRows(db: Database.Database, query: RowQuery): RecordRow[] {
  const columns = 'SELECT kind, owner, seq, body FROM bake_records';
  if ('seqs' in query) {
    return statement(db, `${columns} WHERE kind = ? AND owner = ? AND seq IN (SELECT value FROM json_each(?))`).all(
      query.kind,
      query.owner,
      JSON.stringify(query.seqs),
    ) as RecordRow[];
  }
  if ('all' in query) {
    return statement(db, `${columns} WHERE kind = ? AND owner = ? ORDER BY seq`).all(query.kind, query.owner) as RecordRow[];
  }
  if ('tails' in query) {
    // One statement for every list's tail (a monorepo asks for 200): the pairs as a JSON array.
    const pairs = JSON.stringify(query.tails.map((t) => [t.owner, t.seq]));
    return statement(db, `${columns} WHERE kind = ? AND (owner, seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))`).all(
      query.kind,
      pairs,
    ) as RecordRow[];
  }
  const column = indexColumn(query.kind, query.field);
  if (!column) throw new Error(`store: ${query.kind}.${query.field} is not indexed`);
  if (query.owner === undefined)
    return statement(db, `${columns} WHERE kind = ? AND ${column} = ?`).all(query.kind, query.value) as RecordRow[];
  return statement(db, `${columns} WHERE kind = ? AND ${column} = ? AND owner = ?`).all(
    query.kind,
    query.value,
    query.owner,
  ) as RecordRow[];
}

function apply(db: Database.Database, changes: ChangeSet): void {
  const clear = statement(db, 'DELETE FROM bake_records WHERE kind = ? AND owner = ?');
  const put = statement(
    db,
    'INSERT INTO bake_records (kind, owner, seq, body, k1, k2) VALUES (?, ?, ?, ?, ?, ?) ' +
      'ON CONFLICT (kind, owner, seq) DO UPDATE SET body = excluded.body, k1 = excluded.k1, k2 = excluded.k2',
  );
  const length = statement(
    db,
    'INSERT INTO bake_lists (kind, owner, length) VALUES (?, ?, ?) ON CONFLICT (kind, owner) DO UPDATE SET length = excluded.length',
  );
  const drop = statement(db, 'DELETE FROM bake_lists WHERE kind = ? AND owner = ?');
  for (const c of changes.cleared) clear.run(c.kind, c.owner);
  for (const r of changes.rows) put.run(r.kind, r.owner, r.seq, r.body, r.k1, r.k2);
  for (const l of changes.lengths) {
    if (l.length < 0) drop.run(l.kind, l.owner);
    else length.run(l.kind satisfies RecordKind, l.owner, l.length);
  }
  statement(
    db,
    'INSERT INTO bake_meta (id, schema, generation) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET generation = excluded.generation',
  ).run(STORE_SCHEMA, changes.generation);
}
