import { createHash } from 'node:crypto';
import pg from 'pg';
import { LockError, ManifestError } from '../util/errors.js';
import { coalescing } from './coalesce.js';
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
import { extraTrustedCertificates } from '../util/extra-ca.js';

/**
 * The shared store: PostgreSQL through `pg` (its one owner), for many hosts and `bake serve`
 * replicas. Every write transaction first locks the one meta row (`SELECT … FOR UPDATE`), so
 * writers are serialized on every host, first come first served, and the generation grows by one
 * per write; readers never wait (MVCC). A transaction the server or the network cut before COMMIT was sent left nothing
 * behind and is run again; one cut after it is reported, never repeated. A write costs three round
 * trips: the lock with what every write starts from, its rows, the COMMIT. Statements are
 * prepared once per connection (plain ones where a pooler loses them).
 */
export class PostgresBackend implements RecordBackend, LedgerSql {
  readonly description: string;
  readonly synchronous = false;
  readonly dialect = 'postgres';
  readonly #pool: pg.Pool;
  #ready: Promise<void> | undefined;

  constructor(url: string) {
    const u = new URL(url);
    this.description = `postgresql ${u.host}${u.pathname}`;
    this.#pool = new pg.Pool(poolConfig(url));
    // An idle connection the server closed (a restart) is dropped; the next query opens another.
    this.#pool.on('error', () => undefined);
    // The pool listens for errors on idle clients only. A checked-out client between two statements
    // (a write's callback at work, a setup holding its advisory lock) that the server closes emits
    // 'error' with nobody listening, and that killed the process: a replica died of a PostgreSQL
    // restart. The query in flight still gets the error; the next one on that client fails as a
    // connection error, which `write` runs again on another connection.
    this.#pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async write<T>(fn: (tx: RecordTransaction) => Promise<T>, wait: WriteWait): Promise<T> {
    await this.#setUp();
    const deadline = Date.now() + wait.timeoutMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
      let committing = false;
      const prepares = !this.#unprepared;
      const client = await this.#pool.connect().catch((error: unknown) => {
        if (Date.now() > deadline) throw this.#error('cannot connect to', error);
        return undefined;
      });
      if (client) {
        let broken = false;
        try {
          const start = await this.#begin(client, wait, deadline);
          // The change set (the last thing `fn` does) is written just before the COMMIT, in a round
          // trip of its own: a connection cut while it is written left nothing and is run again;
          // only a cut during the COMMIT itself is reported (a restart during a release must not fail it).
          let changes: ChangeSet | undefined;
          const result = await fn({
            ...reader(client, this.#query),
            ...start,
            apply: async (next) => {
              if (changes) await apply(client, changes, this.#query);
              changes = next;
            },
          });
          // A statement of `fn` failed on an unknown prepared statement, and `fn` took that as its own failure.
          if (prepares && this.#unprepared) throw new Error('a prepared statement was unknown to the server');
          if (changes) await apply(client, changes, this.#query);
          committing = true;
          await client.query('COMMIT');
          return result;
        } catch (error) {
          broken = isConnectionError(error);
          if (!broken) await client.query('ROLLBACK').catch(() => undefined);
          // A prepared statement the server did not know (a pooler in front): nothing was written;
          // run it again, unprepared.
          const unprepared = prepares && this.#unprepared && !committing;
          // pg refuses to send anything on a connection the server already ended: then the COMMIT
          // never left, nothing was written, and the write runs again like any other cut before it.
          const unsent = committing && /is not queryable/.test((error as Error).message ?? '');
          if (!unprepared && (!broken || (committing && !unsent)))
            throw broken ? this.#error('lost the connection during COMMIT to', error) : error;
        } finally {
          client.release(broken);
        }
      }
      // The connection broke before COMMIT was sent (a restart), or a prepared statement was
      // unknown: nothing was written; run it again.
      if (Date.now() > deadline)
        throw new LockError(`gave up after ${wait.timeoutMs} ms: ${this.description} did not answer (to ${wait.purpose})`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  async read<T>(fn: (tx: RecordReader) => Promise<T>): Promise<T> {
    await this.#setUp();
    return fn({ ...reader(this.#pool, this.#query), start: () => this.#start(undefined) });
  }

  /**
   * What a reader starts from (RecordReader.start). Readers that start while one start is being
   * read share the next one (coalesce.ts): read after each of them began, so each sees what was
   * committed before it asked, and `bake serve`'s concurrent commits cost one round trip.
   */
  readonly #start = coalescing(async (readers: readonly undefined[]) => {
    const start = await this.#snapshot();
    return readers.map(() => start);
  });

  /** The meta row, each list with its last row: one statement (so one snapshot and one round trip), prepared. */
  async #snapshot(): Promise<{ meta: StoreMeta | undefined; lists: ListLength[]; warm: RecordRow[] }> {
    const { rows } = await this.#query(this.#pool, SNAPSHOT_SQL, []);
    const lists: ListLength[] = [];
    const warm: RecordRow[] = [];
    for (const row of rows as SnapshotRow[]) {
      if (row.kind === null) continue;
      lists.push({ kind: row.kind, owner: row.owner, length: row.length });
      if (row.seq !== null) warm.push({ kind: row.kind, owner: row.owner, seq: row.seq, body: row.body });
    }
    return { meta: metaOf(rows[0]), lists, warm };
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }

  /** One request-ledger statement (ledger-sql.ts), autocommitted on a connection of the pool. */
  async statement(sql: string, params: readonly LedgerValue[] = []): Promise<Record<string, unknown>[]> {
    await this.#setUp();
    try {
      // Without parameters it may be several statements, which only the simple protocol (unprepared) takes.
      return (params.length > 0 ? await this.#query(this.#pool, sql, [...params]) : await this.#pool.query(sql)).rows as Record<
        string,
        unknown
      >[];
    } catch (error) {
      throw isConnectionError(error) ? this.#error('cannot reach', error) : error;
    }
  }

  /**
   * Whether a prepared statement turned out unknown to the server: a pooler that hands each
   * transaction another server connection (PgBouncer's transaction mode before 1.21) does not keep
   * them. From then on every statement goes unprepared.
   */
  #unprepared = false;

  /**
   * Runs one statement, prepared (named by its text: prepared() below): the server
   * parses and plans it once per connection instead of on every call, half of what a small one
   * costs it. Outside a transaction a prepared statement the server does not know is run again
   * unprepared; inside one the transaction is run again (write).
   */
  readonly #query = async (db: Queryable, text: string, values: unknown[]): Promise<pg.QueryResult> => {
    if (this.#unprepared) return db.query(text, values);
    try {
      return await db.query(prepared(text, values));
    } catch (error) {
      if ((error as { code?: string }).code !== UNKNOWN_STATEMENT) throw error;
      this.#unprepared = true;
      if (db !== this.#pool) throw error;
      return db.query(text, values);
    }
  };

  /**
   * Begins a transaction holding the meta row's lock (waiting in the server's queue, first come first
   * served, until the deadline), and reads what every write starts from in the same round trip: the
   * meta row, every list's length and every list's last row. Tells `wait.onWait` when the lock takes
   * a while; throws LockError at the deadline.
   */
  async #begin(client: pg.PoolClient, wait: WriteWait, deadline: number): Promise<Pick<RecordReader, 'meta' | 'lists' | 'warm'>> {
    const remaining = Math.max(1, deadline - Date.now());
    const slow = wait.onWait && setTimeout(wait.onWait, WAIT_NOTICE_MS);
    let results: pg.QueryResult[];
    try {
      results = (await client.query(
        `BEGIN; SET LOCAL lock_timeout = ${Math.floor(remaining)}; ${META_SQL} FOR UPDATE; ${LISTS_SQL}; ${TAILS_SQL}`,
      )) as unknown as pg.QueryResult[];
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
      throw new LockError(`timed out after ${wait.timeoutMs} ms waiting for the write lock of ${this.description} (to ${wait.purpose})`);
    } finally {
      if (slow) clearTimeout(slow);
    }
    const [, , metaRows, listRows, tailRows] = results;
    const meta = metaOf(metaRows?.rows[0]);
    const lists = (listRows?.rows ?? []) as ListLength[];
    return { meta: async () => meta, lists: async () => lists, warm: (tailRows?.rows ?? []) as RecordRow[] };
  }

  /** Creates the tables once, under an advisory lock so replicas starting together do not race. */
  #setUp(): Promise<void> {
    this.#ready ??= (async () => {
      const client = await this.#pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(727274)');
        await client.query(RECORD_TABLES);
        await client.query('INSERT INTO bake_meta (id, schema, generation) VALUES (1, $1, 0) ON CONFLICT (id) DO NOTHING', [STORE_SCHEMA]);
        await client.query('SELECT pg_advisory_unlock(727274)');
      } finally {
        client.release();
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw this.#error('cannot set up', error);
    });
    return this.#ready;
  }

  #error(what: string, error: unknown): ManifestError {
    return new ManifestError(`${what} the store ${this.description}: ${(error as Error).message}`, this.description, { cause: error });
  }
}

type Queryable = pg.Pool | pg.PoolClient;

const META_SQL = 'SELECT schema, generation FROM bake_meta WHERE id = 1';
const LISTS_SQL = 'SELECT kind, owner, length FROM bake_lists';
/** The last row of every list. */
const TAILS_SQL =
  'SELECT r.kind, r.owner, r.seq, r.body FROM bake_lists l JOIN bake_records r ON r.kind = l.kind AND r.owner = l.owner AND r.seq = l.length - 1';

/**
 * The meta row joined with every list and its last row: a row per list (the meta columns repeated),
 * or one row of nulls beside the meta when there is no list.
 */
const SNAPSHOT_SQL =
  'SELECT m.schema, m.generation, l.kind, l.owner, l.length, r.seq, r.body FROM bake_meta m ' +
  'LEFT JOIN bake_lists l ON true LEFT JOIN bake_records r ON r.kind = l.kind AND r.owner = l.owner AND r.seq = l.length - 1 ' +
  'WHERE m.id = 1';

type SnapshotRow = { schema: number; generation: string } & (
  | { kind: null; owner: null; length: null; seq: null; body: null }
  | ({ kind: RecordKind; owner: string; length: number } & ({ seq: number; body: string } | { seq: null; body: null }))
);

/** SQLSTATE invalid_sql_statement_name: a prepared statement the connection does not have. */
const UNKNOWN_STATEMENT = '26000';

type Query = (db: Queryable, text: string, values: unknown[]) => Promise<pg.QueryResult>;

/** A statement as a prepared one, named by its text (so one name never stands for two statements). */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `bake-${createHash('sha256').update(text).digest('hex').slice(0, 20)}`;
    if (names.size < 256) names.set(text, name);
  }
  return { name, text, values };
}

const names = new Map<string, string>();

function metaOf(row: unknown): StoreMeta | undefined {
  const meta = row as { schema: number; generation: string } | undefined;
  return meta && { schema: meta.schema, generation: Number(meta.generation) };
}

/** A writer that has waited this long for the lock says so (the lock is still waited for). */
const WAIT_NOTICE_MS = 200;

function reader(db: Queryable, query: Query): RecordReader {
  return {
    meta: async () => metaOf((await query(db, META_SQL, [])).rows[0]),
    lists: async () => (await query(db, LISTS_SQL, [])).rows as ListLength[],
    rows: async (rows) => (await selectRows(db, rows, query)) as RecordRow[],
  };
}

async function selectRows(db: Queryable, query: RowQuery, statement: Query): Promise<RecordRow[]> {
  const columns = 'SELECT kind, owner, seq, body FROM bake_records';
  const run = async (sql: string, values: unknown[]) => (await statement(db, sql, values)).rows as RecordRow[];
  if ('seqs' in query)
    return run(`${columns} WHERE kind = $1 AND owner = $2 AND seq = ANY($3::int[])`, [query.kind, query.owner, query.seqs]);
  if ('all' in query) return run(`${columns} WHERE kind = $1 AND owner = $2 ORDER BY seq`, [query.kind, query.owner]);
  if ('tails' in query) {
    return run(`${columns} WHERE kind = $1 AND (owner, seq) IN (SELECT * FROM unnest($2::text[], $3::int[]))`, [
      query.kind,
      query.tails.map((t) => t.owner),
      query.tails.map((t) => t.seq),
    ]);
  }
  const column = indexColumn(query.kind, query.field);
  if (!column) throw new Error(`store: ${query.kind}.${query.field} is not indexed`);
  if (query.owner === undefined) return run(`${columns} WHERE kind = $1 AND ${column} = $2`, [query.kind, query.value]);
  return run(`${columns} WHERE kind = $1 AND ${column} = $2 AND owner = $3`, [query.kind, query.value, query.owner]);
}

/**
 * A change set as statements: one whatever its size (two when lists are rewritten: their old rows
 * must be gone before the new ones go in).
 */
function applyStatements(changes: ChangeSet): { text: string; values: unknown[] }[] {
  const col = <T>(items: T[], pick: (t: T) => unknown) => items.map(pick);
  const statements: { text: string; values: unknown[] }[] = [];
  if (changes.cleared.length > 0) {
    statements.push({
      text: 'DELETE FROM bake_records WHERE (kind, owner) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
      values: [col(changes.cleared, (c) => c.kind), col(changes.cleared, (c) => c.owner)],
    });
  }
  const r = changes.rows;
  const kept = changes.lengths.filter((l) => l.length >= 0);
  const dropped = changes.lengths.filter((l) => l.length < 0);
  statements.push({
    text: APPLY_SQL,
    values: [
      col(r, (x) => x.kind),
      col(r, (x) => x.owner),
      col(r, (x) => x.seq),
      col(r, (x) => x.body),
      col(r, (x) => x.k1),
      col(r, (x) => x.k2),
      col(kept, (l) => l.kind),
      col(kept, (l) => l.owner),
      col(kept, (l) => l.length),
      col(dropped, (l) => l.kind),
      col(dropped, (l) => l.owner),
      changes.generation,
    ],
  });
  return statements;
}

/** Writes a change set, one prepared statement after the other. The lock is held for every round trip, so there are few. */
async function apply(client: pg.PoolClient, changes: ChangeSet, query: Query): Promise<void> {
  for (const { text, values } of applyStatements(changes)) await query(client, text, values);
}

const APPLY_SQL =
  'WITH put AS (INSERT INTO bake_records (kind, owner, seq, body, k1, k2) ' +
  'SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[]) ' +
  'ON CONFLICT (kind, owner, seq) DO UPDATE SET body = excluded.body, k1 = excluded.k1, k2 = excluded.k2), ' +
  'kept AS (INSERT INTO bake_lists (kind, owner, length) SELECT * FROM unnest($7::text[], $8::text[], $9::int[]) ' +
  'ON CONFLICT (kind, owner) DO UPDATE SET length = excluded.length), ' +
  'dropped AS (DELETE FROM bake_lists WHERE (kind, owner) IN (SELECT * FROM unnest($10::text[], $11::text[]))) ' +
  'UPDATE bake_meta SET generation = $12 WHERE id = 1';

/** The server went away or cut the connection (a restart, a network failure): the transaction did not commit. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08006', '08003', '08001'].includes(code) ||
    /Connection terminated|connection is closed|Client has encountered a connection error/i.test(message)
  );
}

/**
 * The pool's options for `url`. A URL that asks for verified TLS (sslmode require, verify-ca or
 * verify-full) without a root certificate of its own trusts NODE_EXTRA_CA_CERTS's file beside
 * Node's roots (extra-ca.ts): pg lets the URL's sslmode override an ssl option, so it moves there.
 */
function poolConfig(url: string): pg.PoolConfig {
  const base = { max: 8, allowExitOnIdle: true, connectionTimeoutMillis: 10_000 };
  const u = new URL(url);
  const mode = u.searchParams.get('sslmode') ?? '';
  const verified = ['require', 'verify-ca', 'verify-full'].includes(mode) && !u.searchParams.has('sslrootcert');
  const extra = verified ? extraTrustedCertificates() : undefined;
  if (!extra) return { ...base, connectionString: url };
  u.searchParams.delete('sslmode');
  return {
    ...base,
    connectionString: u.toString(),
    ssl: { ca: extra, ...(mode === 'verify-ca' && { checkServerIdentity: () => undefined }) },
  };
}
