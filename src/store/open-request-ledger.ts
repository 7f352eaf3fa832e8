import type { LedgerSql } from './ledger-sql.js';
import type { RequestLedger } from './request-ledger.js';
import { SqlRequestLedger } from './sql-request-ledger.js';
import { redactUrl, storeLocation } from './workspace-store.js';

/**
 * The ledger of a workspace's store, or undefined for the JSON file store (a single `bake serve`
 * keeps its markers on its own disk: src/service/inflight.ts). PostgreSQL: two tables in the
 * store's database, through a pool of its own. SQLite: a file of its own beside the store's
 * (`state.db` → `state.requests.db`), because SQLite has one writer per file and a request must be
 * recorded as started while a long record write holds the store's. Throws InputError for a store
 * setting bake cannot use.
 */
export async function openRequestLedger(workspace: string, env: NodeJS.ProcessEnv): Promise<RequestLedger | undefined> {
  const location = storeLocation(workspace, env);
  let sql: LedgerSql & { close(): Promise<void> };
  if (location.kind === 'json') return undefined;
  if (location.kind === 'sqlite') {
    const { SqliteBackend } = await import('./sqlite-backend.js');
    sql = new SqliteBackend(location.url.replace(/(\.db)?$/, '.requests.db'));
  } else {
    const { PostgresBackend } = await import('./postgres-backend.js');
    sql = new PostgresBackend(location.url);
  }
  return new SqlRequestLedger(sql, location.kind === 'postgres' ? redactUrl(location.url) : location.url);
}
