/**
 * What a database backend offers the request ledger (request-ledger.ts): one statement at a time,
 * autocommitted, never inside a record write transaction. The ledger writes its own SQL for each
 * dialect; the backend (the one owner of its driver) only runs it.
 */
export interface LedgerSql {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs one statement with `$1`, `$2` … placeholders and resolves with the rows it returns (none
   * for a statement without RETURNING). Without parameters PostgreSQL also takes several statements
   * at once (one implicit transaction). Throws ManifestError when the database cannot be reached.
   */
  statement(sql: string, params?: readonly LedgerValue[]): Promise<Record<string, unknown>[]>;
}

/** A value a ledger statement binds; an array binds as a PostgreSQL array (PostgreSQL only). */
export type LedgerValue = string | number | null | readonly (string | null)[];
