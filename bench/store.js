// The version-manifest store alone, in process: one append of a version then one view of a latest
// version, as a commit and the next command's read do, ROUNDS times one after the other, on each
// backend in the same run. The JSON file store (the store before the databases) is the peer.
// No HTTP, no layer files: what the store itself costs per write. The JSON file store rewrites its
// whole file each time, so its figure (and the ratio) grows with BENCH_STORE_ROUNDS; the databases' do not.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileStore } from '../dist/store/file-store.js';
import { PostgresBackend } from '../dist/store/postgres-backend.js';
import { RecordStore } from '../dist/store/record-store.js';
import { SqliteBackend } from '../dist/store/sqlite-backend.js';
import { postgresDatabase } from './state.js';
import { tempDir } from './lib.js';

const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 2000);
const SERVICES = 20;

function version(n) {
  return {
    version: n,
    digest: `sha256:${n.toString(16).padStart(64, '0')}`,
    layer: { digest: `sha256:${(n + 1).toString(16).padStart(64, '0')}`, size: n, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    install: '/srv/a',
    source: 'directory',
    created: '2026-01-01T00:00:00Z',
    recordedAt: '2026-01-01T00:00:00Z',
    recordedBy: 'bench',
    generation: n,
  };
}

/** Milliseconds of wall and of this process's CPU per round (append + view), after SERVICES warm-up writes. */
async function rounds(store) {
  for (let i = 0; i < SERVICES; i++) {
    await store.update({ purpose: 'bench' }, async (m) => {
      (m.services[`s${i}`] ??= { versions: [] }).versions.push(version(1));
      return { result: undefined, write: true };
    });
  }
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) {
    await store.update({ purpose: 'bench' }, async (m) => {
      const versions = m.services[`s${i % SERVICES}`].versions;
      versions.push(version(versions.length + 1));
      return { result: undefined, write: true };
    });
    await store.view((m) => m.services[`s${(i + 1) % SERVICES}`]?.versions.at(-1)?.version);
  }
  const used = process.cpuUsage(cpu);
  return { wall: Number(process.hrtime.bigint() - start) / 1e6 / ROUNDS, cpu: (used.user + used.system) / 1000 / ROUNDS };
}

export async function benchStore(report) {
  const tmp = tempDir('store');
  const dir = tmp.dir;
  const rows = [];
  const results = {};
  try {
    const sqlite = new RecordStore(new SqliteBackend(join(dir, 'state.db')), 'sqlite');
    results.sqlite = await rounds(sqlite);
    await sqlite.close();
    const db = postgresDatabase('store');
    if (db) {
      try {
        const pg = new RecordStore(new PostgresBackend(db.url), 'postgres');
        results.postgresql = await rounds(pg);
        await pg.close();
      } finally {
        db.drop();
      }
    }
    mkdirSync(join(dir, 'json'));
    results['JSON file'] = await rounds(new FileStore(join(dir, 'json', 'manifest.json')));
  } finally {
    tmp.cleanup();
  }
  const peer = results['JSON file'];
  for (const [name, r] of Object.entries(results)) {
    rows.push([
      `${name}: ms per append + view`,
      `${r.wall.toFixed(3)} wall, ${r.cpu.toFixed(3)} CPU${name === 'JSON file' ? '' : ` (${(peer.wall / r.wall).toFixed(1)}× the JSON file store)`}`,
    ]);
  }
  if (!results.postgresql)
    rows.push(['postgresql', 'SKIPPED: no PostgreSQL (BAKE_BENCH_DATABASE_URL, BAKE_TEST_DATABASE_URL or scripts/test-postgres.sh)']);
  report(`store alone, in process: ${ROUNDS} rounds of one append and one view, one after the other`, rows);
}
