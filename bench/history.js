// Issue 13's history benchmark, on issue 14's stores: per-command cost against a manifest holding
// a busy year (20,000 service versions, 5,000 builds) against a fresh one, same workspace, same
// files: `bake build` with nothing changed, `bake build --commit` with nothing changed, and
// `bake status`. Medians of 3 with peak memory. The year is written as a manifest file and imported
// with `bake migrate`, into the default SQLite store and, for comparison, into the JSON file store
// of workspaces made before the database (BAKE_DATABASE_URL=json).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkspace } from './bake-vs-docker.js';
import { bake, fmt, median, peakRss, ratio, tempDir } from './lib.js';

const SERVICES = 10;
const VERSIONS = 20_000;
const BUILDS = 5_000;

const hex = (n) => randomBytes(n).toString('hex');

/**
 * The stores measured: where each keeps the manifest in `.bake/` (removed before the import, which
 * takes only an empty store) and what `bake migrate --to` calls it.
 */
const STORES = [
  { name: 'sqlite', env: {}, files: ['state.db', 'state.db-wal', 'state.db-shm'], to: 'sqlite' },
  { name: 'json', env: { BAKE_DATABASE_URL: 'json' }, files: ['manifest.json'], to: 'json' },
];

/** Prepends a year of history to every service and to the image's builds, renumbering the real ones after it. */
function addHistory(file) {
  const m = JSON.parse(readFileSync(file, 'utf8'));
  const perService = VERSIONS / Object.keys(m.services).length;
  for (const history of Object.values(m.services)) {
    const real = history.versions;
    const template = real[0];
    const fake = Array.from({ length: perService }, (_, i) => ({
      ...template,
      version: i + 1,
      digest: `sha256:${hex(32)}`,
      revision: hex(20),
      created: new Date(Date.UTC(2025, 0, 1) + i * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'),
      recordedAt: new Date(Date.UTC(2025, 0, 1) + i * 3600e3).toISOString(),
      generation: i + 1,
    }));
    history.versions = [...fake, ...real.map((v) => ({ ...v, version: v.version + perService }))];
  }
  for (const builds of Object.values(m.builds)) {
    const real = builds;
    const template = real[0];
    const fake = Array.from({ length: BUILDS }, (_, i) => ({
      ...template,
      id: i + 1,
      digest: `sha256:${hex(32)}`,
      config: `sha256:${hex(32)}`,
      vector: Object.fromEntries(
        Object.keys(template.vector).map((s) => [s, Math.min(perService, 1 + Math.floor((i * perService) / BUILDS))]),
      ),
      status: 'stale',
      generation: i + 1,
    }));
    const shifted = real.map((b) => ({
      ...b,
      id: b.id + BUILDS,
      vector: Object.fromEntries(Object.entries(b.vector).map(([s, v]) => [s, v + perService])),
    }));
    builds.splice(0, builds.length, ...fake, ...shifted);
  }
  writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
  return statSync(file).size;
}

function measure(ws, env) {
  const run = (args) => {
    const runs = Array.from({ length: 3 }, () => bake(['-C', ws, '--json', ...args], { rss: peakRss, env }));
    return { seconds: median(runs.map((r) => r.seconds)), rss: Math.max(...runs.map((r) => r.rss ?? Number.NaN)) };
  };
  bake(['-C', ws, '--json', 'build', 'big'], { env }); // settle one-time work (a renumbered build's ref)
  return { build: run(['build', 'big']), commit: run(['build', '--commit', 'big']), status: run(['status']) };
}

/** Bytes the store holds in `.bake/` (0 for a store elsewhere). */
function storeSize(ws, store) {
  return store.files.reduce((sum, name) => {
    try {
      return sum + statSync(join(ws, '.bake', name)).size;
    } catch {
      return sum;
    }
  }, 0);
}

/** One store: a fresh workspace measured, then its manifest exported, a year prepended, imported back, measured again. */
function benchStore(dir, store) {
  const env = { ...process.env, ...store.env };
  const ws = join(dir, store.name);
  mkdirSync(ws);
  makeWorkspace(ws, { services: SERVICES, bytes: 1e6, files: 4 });
  bake(['-C', ws, '--json', 'build', '--commit', 'big'], { env });
  const freshSize = storeSize(ws, store);
  const fresh = measure(ws, env);
  const file = join(dir, `${store.name}-year.json`);
  bake(['-C', ws, '--json', 'export', '--out', file], { env });
  const fileSize = addHistory(file);
  for (const name of store.files) rmSync(join(ws, '.bake', name), { force: true });
  bake(['-C', ws, '--json', 'migrate', '--from', file, '--to', store.to], { env });
  const size = storeSize(ws, store);
  const year = measure(ws, env);
  return { fresh, year, freshSize, size, fileSize };
}

export async function benchHistory(report) {
  const tmp = tempDir('history');
  try {
    const results = STORES.map((store) => ({ store, ...benchStore(tmp.dir, store) }));
    const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
    const rows = [];
    for (const { store, fresh, year, freshSize, size } of results) {
      rows.push([`${store.name} store`, `fresh ${(freshSize / 1e3).toFixed(0)} kB, a year ${mb(size)}`]);
      for (const [name, key] of [
        ['bake build, nothing changed', 'build'],
        ['bake build --commit, nothing changed', 'commit'],
        ['bake status', 'status'],
      ]) {
        rows.push([
          `  ${name}`,
          `fresh ${fmt(fresh[key].seconds)} (${(fresh[key].rss / 1024).toFixed(0)} MB), a year ${fmt(year[key].seconds)} (${(year[key].rss / 1024).toFixed(0)} MB): ${ratio(year[key].seconds, fresh[key].seconds)}${store.name === 'sqlite' ? ' (target ≤ 1.2×)' : ''}`,
        ]);
      }
    }
    report(
      `history: ${VERSIONS} versions and ${BUILDS} builds (a ${mb(results[0]?.fileSize ?? 0)} manifest file, imported with bake migrate) vs fresh, per store`,
      rows,
    );
  } finally {
    tmp.cleanup();
  }
}
