import { afterAll, describe, expect, it } from 'vitest';
import { emptyManifest } from '../../src/manifest/model.js';
import { PostgresBackend } from '../../src/store/postgres-backend.js';
import { RecordStore } from '../../src/store/record-store.js';
import { ensureTestPostgres, type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';
import { requireTools } from '../helpers/require-tools.js';

// How the PostgreSQL store talks to the server. A write's rows go with its COMMIT as SQL
// literals: whatever a record holds must come back exactly. Statements are prepared once per
// connection; a pooler that hands a transaction another server connection (PgBouncer's
// transaction mode before 1.21) loses them, and the store must then go on unprepared, writing each
// write exactly once. DEALLOCATE ALL makes the server forget them as such a pooler would.
ensureTestPostgres();
const pg = requireTools('postgres');
const databases: ScratchDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

async function store(): Promise<{ store: RecordStore; backend: PostgresBackend }> {
  const db = await scratchDatabase('prepared');
  databases.push(db);
  const backend = new PostgresBackend(db.url);
  return { store: new RecordStore(backend, db.name), backend };
}

/** Appends one interrupted record (any small write) and resolves with its number. */
function write(s: RecordStore, n: number, runs?: { count: number }): Promise<number> {
  return s.update({ purpose: `write ${n}` }, async (m) => {
    if (runs) runs.count++;
    m.interrupted = [...(m.interrupted ?? []), { argv: [String(n)], startedAt: '', detectedAt: '', status: 'failed' }];
    return { result: n, write: true };
  });
}

describe.skipIf(pg.skip)('the PostgreSQL store, writing rows with the COMMIT', () => {
  it('keeps every character of a record exactly', async () => {
    const { store: s } = await store();
    const texts = [
      "it's",
      'back\\slash',
      "E'\\x41'",
      '\\',
      "''; DROP TABLE bake_meta; --",
      'ünïcødé ✓ 🍞',
      'line\nbreak\ttab',
      '$1 $12 $$',
    ];
    await s.update({ purpose: 'tricky' }, async (m) => {
      m.interrupted = texts.map((text) => ({ argv: [text], startedAt: text, detectedAt: '', status: 'failed' as const }));
      return { result: undefined, write: true };
    });
    const m = await s.snapshot();
    expect((m.interrupted ?? []).map((r) => r.argv[0])).toEqual(texts);
    expect(m.generation).toBe(1);
    await s.close();
  });

  it('writes a change set too large for one query as prepared statements', async () => {
    const { store: s } = await store();
    const big = 'x'.repeat(64 * 1024);
    await s.update({ purpose: 'large' }, async (m) => {
      m.interrupted = Array.from({ length: 20 }, (_, n) => ({
        argv: [String(n), big],
        startedAt: '',
        detectedAt: '',
        status: 'failed' as const,
      }));
      return { result: undefined, write: true };
    });
    const m = await s.snapshot();
    expect((m.interrupted ?? []).map((r) => r.argv[1]?.length)).toEqual(Array(20).fill(big.length));
    expect(m.generation).toBe(1);
    await s.close();
  });
});

describe.skipIf(pg.skip)('the PostgreSQL store behind a pooler that forgets prepared statements', () => {
  it('reads on, unprepared', async () => {
    const { store: s, backend } = await store();
    for (let n = 1; n <= 3; n++) await write(s, n);
    await backend.statement('DEALLOCATE ALL');
    expect(await s.view((m) => (m.interrupted ?? []).map((r) => r.argv[0]))).toEqual(['1', '2', '3']);
    // Nothing was prepared again: the store gave up preparing.
    expect(await backend.statement('SELECT count(*)::int AS n FROM pg_prepared_statements')).toEqual([{ n: 0 }]);
    await s.close();
  });

  it('runs a write whose transaction met an unknown statement again, recording it once', async () => {
    const { store: s, backend } = await store();
    for (let n = 1; n <= 3; n++) await write(s, n);
    await backend.statement('DEALLOCATE ALL');
    const runs = { count: 0 };
    expect(await write(s, 4, runs)).toBe(4);
    expect(runs.count).toBeGreaterThan(1);
    expect(await s.generation()).toBe(4);
    const m = await s.snapshot();
    expect((m.interrupted ?? []).map((r) => r.argv[0])).toEqual(['1', '2', '3', '4']);
    expect(m.generation).toBe(emptyManifest().generation + 4);
    await s.close();
  });
});
