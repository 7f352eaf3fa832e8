import { ManifestError } from '../util/errors.js';
import { coalescing } from './coalesce.js';
import type { LedgerSql, LedgerValue } from './ledger-sql.js';
import type { BeginResult, LedgerRequest, OrphanRequest, ReplicaRow, RequestLedger } from './request-ledger.js';

/**
 * The request ledger in two tables of the store's own database, beside the records (SQLite and
 * PostgreSQL alike; the backend runs the statements, ledger-sql.ts). Times are the database's
 * clock in milliseconds, so replicas on hosts whose clocks disagree still agree on who is late.
 *
 *   bake_replicas  one row per running replica: its heartbeat
 *   bake_requests  one row per write request from its start to its end; with an idempotency
 *                  key, also after its end, holding the answer (unique key: one run per key)
 */
export class SqlRequestLedger implements RequestLedger {
  #ready: Promise<void> | undefined;
  /**
   * Begins (true: the row went in; false: its key is held by another row) and finishes. On
   * PostgreSQL those of requests running side by side go to the database together, in one
   * statement (coalesce.ts), each still answered on its own; SQLite's statements are local calls,
   * made one at a time.
   */
  readonly #op: (op: LedgerOp) => Promise<boolean>;

  constructor(
    private readonly sql: LedgerSql & { close(): Promise<void> },
    readonly description: string,
  ) {
    this.#op = sql.dialect === 'postgres' ? coalescing((ops) => this.#together(ops)) : (op) => this.#alone(op);
  }

  async beat(replica: ReplicaRow): Promise<number> {
    const rows = await this.#run(
      'INSERT INTO bake_replicas (replica, host, pid, started_at, heartbeat) VALUES ($1, $2, $3, $4, {now}) ' +
        'ON CONFLICT (replica) DO UPDATE SET heartbeat = excluded.heartbeat RETURNING heartbeat',
      [replica.replica, replica.host, replica.pid, replica.startedAt],
    );
    return Number(rows[0]?.['heartbeat']);
  }

  async begin(request: LedgerRequest): Promise<BeginResult> {
    // A row with the key may end between the insert and the look-up (pruned, or forgotten as an orphan): then insert again.
    for (let attempt = 0; attempt < 5; attempt++) {
      if ((await this.#op({ begin: request })) || request.key === undefined) return { kind: 'started' };
      const [row] = await this.#run(
        'SELECT r.id, r.replica, r.fingerprint, r.finished_at, r.answer, p.heartbeat, {now} AS now FROM bake_requests r ' +
          'LEFT JOIN bake_replicas p ON p.replica = r.replica WHERE r.request_key = $1',
        [request.key],
      );
      if (!row) continue;
      const fingerprint = text(row['fingerprint']);
      if (row['finished_at'] !== null && row['finished_at'] !== undefined)
        return { kind: 'finished', fingerprint, answer: String(row['answer'] ?? '') };
      return { kind: 'running', id: String(row['id']), replica: String(row['replica']), fingerprint, sinceBeatMs: since(row) };
    }
    throw new ManifestError(
      `the request key ${request.key} kept changing hands in ${this.description}; retry the request`,
      this.description,
    );
  }

  async finish(id: string, answer: string | undefined): Promise<void> {
    await this.#op({ finish: { id, answer } });
  }

  async #alone(op: LedgerOp): Promise<boolean> {
    if ('begin' in op) {
      const r = op.begin;
      const values = [r.id, r.replica, r.key ?? null, r.fingerprint ?? null, r.startedAt, r.job];
      return (await this.#run(`${INSERT}VALUES ($1, $2, $3, $4, $5, $6)${ON_KEY}`, values)).length > 0;
    }
    const { id, answer } = op.finish;
    if (answer === undefined) await this.#run('DELETE FROM bake_requests WHERE id = $1', [id]);
    else await this.#run('UPDATE bake_requests SET finished_at = {now}, answer = $2 WHERE id = $1', [id, answer]);
    return true;
  }

  /**
   * Every begin and finish waiting, in one PostgreSQL statement: finished requests keep their answer
   * (or go, without one) and the new rows go in. The parts see one snapshot: a retry that begins in
   * the statement that finishes its first run finds that row, and then its answer.
   */
  async #together(ops: readonly LedgerOp[]): Promise<boolean[]> {
    const begins = ops.flatMap((op) => ('begin' in op ? [op.begin] : []));
    const finishes = ops.flatMap((op) => ('finish' in op ? [op.finish] : []));
    const kept = finishes.filter((f) => f.answer !== undefined);
    const rows = await this.#run(
      'WITH gone AS (DELETE FROM bake_requests WHERE id = ANY($7::text[])), ' +
        'done AS (UPDATE bake_requests r SET finished_at = {now}, answer = v.answer ' +
        'FROM unnest($8::text[], $9::text[]) AS v (id, answer) WHERE r.id = v.id) ' +
        `${INSERT}SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])${ON_KEY}`,
      [
        begins.map((r) => r.id),
        begins.map((r) => r.replica),
        begins.map((r) => r.key ?? null),
        begins.map((r) => r.fingerprint ?? null),
        begins.map((r) => r.startedAt),
        begins.map((r) => r.job),
        finishes.filter((f) => f.answer === undefined).map((f) => f.id),
        kept.map((f) => f.id),
        kept.map((f) => f.answer ?? ''),
      ],
    );
    // Two begins with one key: the first goes in, the second finds it (ON CONFLICT sees rows this statement inserted).
    const inserted = new Set(rows.map((row) => String(row['id'])));
    return ops.map((op) => !('begin' in op) || inserted.has(op.begin.id));
  }

  async orphans(self: string): Promise<OrphanRequest[]> {
    const rows = await this.#run(
      'SELECT r.id, r.replica, r.request_key, r.started_at, r.job, p.host, p.pid, p.heartbeat, {now} AS now FROM bake_requests r ' +
        'LEFT JOIN bake_replicas p ON p.replica = r.replica WHERE r.finished_at IS NULL AND r.replica <> $1',
      [self],
    );
    return rows.map((row) => ({
      id: String(row['id']),
      replica: String(row['replica']),
      key: text(row['request_key']),
      startedAt: String(row['started_at']),
      job: String(row['job']),
      host: text(row['host']),
      pid: row['pid'] === null || row['pid'] === undefined ? undefined : Number(row['pid']),
      sinceBeatMs: since(row),
    }));
  }

  async forget(ids: readonly string[]): Promise<void> {
    for (const id of ids) await this.#run('DELETE FROM bake_requests WHERE id = $1 AND finished_at IS NULL', [id]);
  }

  async prune(answersMs: number, replicasMs: number): Promise<void> {
    await this.#run('DELETE FROM bake_requests WHERE finished_at IS NOT NULL AND finished_at < {now} - $1', [answersMs]);
    await this.#run(
      'DELETE FROM bake_replicas WHERE heartbeat < {now} - $1 ' +
        'AND replica NOT IN (SELECT replica FROM bake_requests WHERE finished_at IS NULL)',
      [replicasMs],
    );
  }

  async leave(replica: string): Promise<void> {
    await this.#run('DELETE FROM bake_replicas WHERE replica = $1', [replica]);
  }

  close(): Promise<void> {
    return this.sql.close();
  }

  async #run(statement: string, params: readonly LedgerValue[]): Promise<Record<string, unknown>[]> {
    await this.#setUp();
    return this.sql.statement(statement.replaceAll('{now}', NOW[this.sql.dialect]), params);
  }

  /** Creates the tables once; on PostgreSQL under an advisory lock, so replicas starting together do not race. */
  #setUp(): Promise<void> {
    this.#ready ??= (async () => {
      if (this.sql.dialect === 'postgres') {
        await this.sql.statement(`SELECT pg_advisory_xact_lock(727275); ${TABLES.join('; ')};`);
      } else {
        for (const table of TABLES) await this.sql.statement(table);
      }
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }
}

/** A begin or a finish, as the ledger batches them. */
type LedgerOp = { begin: LedgerRequest } | { finish: { id: string; answer: string | undefined } };

const INSERT = 'INSERT INTO bake_requests (id, replica, request_key, fingerprint, started_at, job) ';
const ON_KEY = ' ON CONFLICT (request_key) DO NOTHING RETURNING id';

/** The database's clock in milliseconds, per dialect. */
const NOW = {
  postgres: '(extract(epoch from clock_timestamp()) * 1000)::bigint',
  sqlite: "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
} as const;

const TABLES = [
  'CREATE TABLE IF NOT EXISTS bake_replicas (replica TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, ' +
    'started_at TEXT NOT NULL, heartbeat BIGINT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS bake_requests (id TEXT PRIMARY KEY, replica TEXT NOT NULL, request_key TEXT, fingerprint TEXT, ' +
    'started_at TEXT NOT NULL, job TEXT NOT NULL, finished_at BIGINT, answer TEXT)',
  // NULL keys are distinct in both databases: requests without a key never collide.
  'CREATE UNIQUE INDEX IF NOT EXISTS bake_requests_key ON bake_requests (request_key)',
];

function text(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function since(row: Record<string, unknown>): number | undefined {
  const beat = row['heartbeat'];
  return beat === null || beat === undefined ? undefined : Number(row['now']) - Number(beat);
}
