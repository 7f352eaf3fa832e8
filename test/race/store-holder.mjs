// Opens a workspace's store (SQLite or PostgreSQL, as BAKE_DATABASE_URL and the workspace choose)
// through bake's own store modules, holds its write transaction open and prints one line, then waits
// until killed: the crash test SIGKILLs this process in the middle of a write.
//   node store-holder.mjs WS hold     — inside ManifestStore.update, before anything is written ("locked")
//   node store-holder.mjs WS written  — inside the backend's write transaction, after a large change set
//                                       was applied and before COMMIT ("written"): an existing record
//                                       rewritten, 5,000 new ones, the generation moved
import { SqliteBackend } from '../../dist/store/sqlite-backend.js';
import { PostgresBackend } from '../../dist/store/postgres-backend.js';
import { storeLocation, workspaceStore } from '../../dist/store/workspace-store.js';

const [ws, mode] = process.argv.slice(2);
const ROWS = 5000;
// A timer keeps the process alive (a pending promise alone would let Node exit).
const forever = () => new Promise(() => setInterval(() => undefined, 1000));

if (mode === 'hold') {
  const store = await workspaceStore(ws);
  await store.update({ purpose: 'crash test holder' }, async () => {
    process.stdout.write('locked\n');
    return forever();
  });
} else if (mode === 'written') {
  const location = storeLocation(ws);
  const backend = location.kind === 'postgres' ? new PostgresBackend(location.url) : new SqliteBackend(location.url);
  await backend.write(
    async (tx) => {
      const meta = await tx.meta();
      const [first] = await tx.rows({ kind: 'version', owner: 'a', seqs: [0] });
      // Big enough (about 25 MB, past better-sqlite3's 16 MB page cache) that SQLite spills
      // uncommitted pages into its WAL before COMMIT.
      const padding = 'x'.repeat(5000);
      const rows = Array.from({ length: ROWS }, (_, seq) => ({
        kind: 'version',
        owner: 'half-written',
        seq,
        body: JSON.stringify({ version: seq + 1, padding }),
        k1: null,
        k2: null,
      }));
      if (first) rows.push({ ...first, body: JSON.stringify({ overwritten: 'by a writer that never committed' }), k1: null, k2: null });
      await tx.apply({
        generation: (meta?.generation ?? 0) + 1000,
        cleared: [],
        rows,
        lengths: [{ kind: 'version', owner: 'half-written', length: ROWS }],
      });
      process.stdout.write('written\n');
      return forever();
    },
    { purpose: 'crash test writer', timeoutMs: 30_000 },
  );
} else {
  process.stderr.write('usage: node store-holder.mjs WS hold|written\n');
  process.exit(2);
}
