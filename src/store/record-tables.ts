/**
 * The tables every SQL backend keeps (record-kinds.ts explains the rows). Written in the SQL that
 * SQLite and PostgreSQL share; a backend may adjust types (SQLite has no BIGINT affinity issue, but
 * keeps INTEGER for its row ids).
 */

/** The version of this layout. A store with a newer one is refused (record-store.ts). */
export const STORE_SCHEMA = 1;

export const RECORD_TABLES = `
CREATE TABLE IF NOT EXISTS bake_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  schema INTEGER NOT NULL,
  generation BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS bake_lists (
  kind TEXT NOT NULL,
  owner TEXT NOT NULL,
  length INTEGER NOT NULL,
  PRIMARY KEY (kind, owner)
);
CREATE TABLE IF NOT EXISTS bake_records (
  kind TEXT NOT NULL,
  owner TEXT NOT NULL,
  seq INTEGER NOT NULL,
  body TEXT NOT NULL,
  k1 TEXT,
  k2 TEXT,
  PRIMARY KEY (kind, owner, seq)
);
CREATE INDEX IF NOT EXISTS bake_records_k1 ON bake_records (kind, k1) WHERE k1 IS NOT NULL;
CREATE INDEX IF NOT EXISTS bake_records_k2 ON bake_records (kind, k2) WHERE k2 IS NOT NULL;
`;
