import Database from 'better-sqlite3';

/**
 * Runs SQL on a SQLite store file (`.bake/state.db`) the way an operator's `sqlite3` would, then
 * closes it, so the file is left as a finished write leaves it (WAL checkpointed). For tests that
 * tamper with a store (a newer schema) or look inside it. better-sqlite3 is bake's own driver: the
 * tests need no sqlite3 program.
 */
export function sqliteExec(file: string, sql: string): void {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
