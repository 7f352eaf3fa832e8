// Issue 13's history benchmark: per-command cost against a manifest holding a busy year (20,000
// service versions, 5,000 builds) against a fresh one, same workspace, same files: `bake build`
// with nothing changed, `bake build --commit` with nothing changed, and `bake status`. Medians of 3
// with peak memory. (Issue 14 replaces manifest.json with a database; this measures what is there.)
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeWorkspace } from './bake-vs-docker.js';
import { bake, fmt, median, peakRss, ratio, tempDir } from './lib.js';

const SERVICES = 10;
const VERSIONS = 20_000;
const BUILDS = 5_000;

const hex = (n) => randomBytes(n).toString('hex');

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

function measure(ws) {
  const run = (args) => {
    const runs = Array.from({ length: 3 }, () => bake(['-C', ws, '--json', ...args], { rss: peakRss }));
    return { seconds: median(runs.map((r) => r.seconds)), rss: Math.max(...runs.map((r) => r.rss ?? Number.NaN)) };
  };
  bake(['-C', ws, '--json', 'build', 'big']); // settle one-time work (a renumbered build's ref)
  return { build: run(['build', 'big']), commit: run(['build', '--commit', 'big']), status: run(['status']) };
}

export async function benchHistory(report) {
  const tmp = tempDir('history');
  try {
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    makeWorkspace(ws, { services: SERVICES, bytes: 1e6, files: 4 });
    bake(['-C', ws, '--json', 'build', '--commit', 'big']);
    const manifest = join(ws, '.bake', 'manifest.json');
    const freshSize = statSync(manifest).size;
    const fresh = measure(ws);
    const size = addHistory(manifest);
    const year = measure(ws);
    const row = (name, key) => [
      name,
      `fresh ${fmt(fresh[key].seconds)} (${(fresh[key].rss / 1024).toFixed(0)} MB), a year ${fmt(year[key].seconds)} (${(year[key].rss / 1024).toFixed(0)} MB): ${ratio(year[key].seconds, fresh[key].seconds)} (target ≤ 1.2×)`,
    ];
    report(
      `history: ${VERSIONS} versions and ${BUILDS} builds (${(size / 1e6).toFixed(1)} MB manifest) vs fresh (${(freshSize / 1e3).toFixed(0)} kB)`,
      [row('bake build, nothing changed', 'build'), row('bake build --commit, nothing changed', 'commit'), row('bake status', 'status')],
    );
  } finally {
    tmp.cleanup();
  }
}
