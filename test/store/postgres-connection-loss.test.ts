import { afterAll, describe, expect, it } from 'vitest';
import { PostgresBackend } from '../../src/store/postgres-backend.js';
import { RecordStore } from '../../src/store/record-store.js';
import { ensureTestPostgres, type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';
import { requireTools } from '../helpers/require-tools.js';

// The server ends a connection that a write holds between two statements (a restart, an
// administrator's pg_terminate_backend). The pool listens for errors on idle connections only: a
// checked-out one's 'error' had no listener and killed the process (a replica died of a restart,
// test/service/replica-postgres-restart.test.ts). Now the write runs again on another connection.
ensureTestPostgres();
const pg = requireTools('postgres');
const databases: ScratchDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

describe.skipIf(pg.skip)('the PostgreSQL store when the server ends a connection in use', () => {
  it('runs the write again, recording it once, and the process lives on', async () => {
    const db = await scratchDatabase('connection_loss');
    databases.push(db);
    const s = new RecordStore(new PostgresBackend(db.url), db.name);
    await s.update({ purpose: 'first' }, async (m) => {
      m.interrupted = [{ argv: ['first'], startedAt: '', detectedAt: '', status: 'failed' }];
      return { result: undefined, write: true };
    });
    let runs = 0;
    const result = await s.update({ purpose: 'cut' }, async (m) => {
      runs++;
      if (runs === 1) {
        // This write's connection sits idle in its transaction now: the server ends it.
        const ended = await db.sql(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'",
        );
        expect(ended).toBe('1');
        await new Promise((resolve) => setTimeout(resolve, 300)); // its FATAL message arrives meanwhile
      }
      m.interrupted = [...(m.interrupted ?? []), { argv: [`run ${runs}`], startedAt: '', detectedAt: '', status: 'failed' }];
      return { result: runs, write: true };
    });
    // The callback may run more than once per attempt (it reads rows lazily); the cut one wrote nothing.
    expect(result).toBeGreaterThanOrEqual(2);
    const m = await s.snapshot();
    expect((m.interrupted ?? []).map((r) => r.argv[0])).toEqual(['first', `run ${result}`]);
    expect(m.generation).toBe(2);
    await s.close();
  });
});
