import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureTestPostgres, scratchDatabase } from './postgres.js';
import { requireTools } from './require-tools.js';

/**
 * The manifest stores a test can run bake against, for `describe.each(stores('sqlite', 'postgres'))`:
 * `sqlite` is the default (`.bake/state.db`, nothing to set), `postgres` a fresh database of its own
 * on the test cluster (test/helpers/postgres.ts) for every `open`, `json` the file store of
 * workspaces made before the database. Each test passes `store.env` to every bake process it starts
 * (and to manifestOf), so they all use the one store.
 */
export type StoreKind = 'sqlite' | 'postgres' | 'json';

export interface StoreCase {
  kind: StoreKind;
  /** True when this store cannot run here (no PostgreSQL, not in CI): the describe skips it, loudly. */
  skip: boolean;
  /** A fresh store for one test (or one beforeAll). */
  open(): Promise<OpenStore>;
}

export interface OpenStore {
  kind: StoreKind;
  /** What bake processes need in their environment: `{}` for the default, else `{ BAKE_DATABASE_URL }`. */
  env: Record<string, string>;
  /** Drops what `open` made (the PostgreSQL database). */
  cleanup(): Promise<void>;
  /**
   * Throws unless the workspace's records went to this store and no other: `.bake/state.db` only for
   * sqlite, `.bake/manifest.json` only for json, neither for postgres. A test that meant PostgreSQL
   * and quietly ran on the default store would prove nothing about PostgreSQL.
   */
  assertUsedBy(workspace: string): void;
}

/**
 * The cases for the named stores. Asking for `postgres` starts the test cluster on a laptop, and
 * with CI=true throws when it does not answer: a missing database fails there, it is not skipped.
 */
export function stores(...kinds: StoreKind[]): StoreCase[] {
  let postgresSkip = false;
  if (kinds.includes('postgres')) {
    ensureTestPostgres();
    postgresSkip = requireTools('postgres').skip;
  }
  return kinds.map((kind) => ({
    kind,
    skip: kind === 'postgres' && postgresSkip,
    open: () => openStore(kind),
  }));
}

async function openStore(kind: StoreKind): Promise<OpenStore> {
  const assertUsedBy = (workspace: string) => {
    const has = { sqlite: existsSync(join(workspace, '.bake', 'state.db')), json: existsSync(join(workspace, '.bake', 'manifest.json')) };
    const expected = { sqlite: kind === 'sqlite', json: kind === 'json' };
    if (has.sqlite !== expected.sqlite || has.json !== expected.json) {
      throw new Error(
        `${workspace}: meant to use the ${kind} store, but .bake/state.db ${has.sqlite ? 'exists' : 'is missing'} and .bake/manifest.json ${has.json ? 'exists' : 'is missing'}`,
      );
    }
  };
  if (kind === 'sqlite') return { kind, env: {}, cleanup: async () => undefined, assertUsedBy };
  if (kind === 'json') return { kind, env: { BAKE_DATABASE_URL: 'json' }, cleanup: async () => undefined, assertUsedBy };
  const db = await scratchDatabase('store');
  return { kind, env: { BAKE_DATABASE_URL: db.url }, cleanup: () => db.drop(), assertUsedBy };
}
