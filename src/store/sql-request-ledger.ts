import { ManifestError } from '../util/errors.js';
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

  constructor(
    private readonly sql: LedgerSql & { close(): Promise<void> },
    readonly description: string,
  ) {}

  async beat(replica: ReplicaRow): Promise<number> {
    const rows = await this.#run(
      'INSERT INTO bake_replicas (replica, host, pid, started_at, heartbeat) VALUES ($1, $2, $3, $4, {now}) ' +
        'ON CONFLICT (replica) DO UPDATE SET heartbeat = excluded.heartbeat RETURNING heartbeat',
      [replica.replica, replica.host, replica.pid, replica.startedAt],
    );
    return Number(rows[0]?.['heartbeat']);
  }

  async begin(request: LedgerRequest): Promise<BeginResult> {
    const values = [request.id, request.replica, request.key ?? null, request.fingerprint ?? null, request.startedAt, request.job];
    // A row with the key may end between the insert and the look-up (pruned, or forgotten as an orphan): then insert again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const inserted = await this.#run(
        'INSERT INTO bake_requests (id, replica, request_key, fingerprint, started_at, job) VALUES ($1, $2, $3, $4, $5, $6) ' +
          'ON CONFLICT (request_key) DO NOTHING RETURNING id',
        values,
      );
      if (inserted.length > 0 || request.key === undefined) return { kind: 'started' };
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
    if (answer === undefined) await this.#run('DELETE FROM bake_requests WHERE id = $1', [id]);
    else await this.#run('UPDATE bake_requests SET finished_at = {now}, answer = $2 WHERE id = $1', [id, answer]);
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
