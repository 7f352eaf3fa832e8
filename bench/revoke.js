// Issue 18's benchmark: finding every build that holds a revoked version among 5,000 builds
// (target: under 50 ms), in process and as the commands a person runs (`bake status`,
// `bake revoke` with its manifest write), against jq scanning the same manifest file. The manifest
// is written as a file and imported with `bake migrate`: into the default SQLite store, and into the
// JSON file store (BAKE_DATABASE_URL=json) for comparison.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildsHolding } from '../dist/revoke/holders.js';
import { revokedStatus } from '../dist/revoke/revoked-status.js';
import { revocationIndex, revocationOf } from '../dist/revoke/revocations.js';
import { bake, bakeBin, sh, tempDir, timed } from './lib.js';

const BUILDS = 5000;
const SERVICES = ['catalog', 'cart', 'web', 'search', 'auth', 'billing', 'mail', 'media'];
const VERSIONS = 200;
const RUNS = 25;
/** The stores the commands run against, as `bake migrate --to` names them. */
const STORES = [
  { name: 'sqlite', env: {} },
  { name: 'json', env: { BAKE_DATABASE_URL: 'json' } },
];

/** A manifest with `BUILDS` builds over 10 images of 4 services each, versions climbing as builds go on. */
function syntheticManifest() {
  const hex = (n) => n.toString(16).padStart(64, '0');
  const services = {};
  for (const [s, name] of SERVICES.entries()) {
    services[name] = {
      versions: Array.from({ length: VERSIONS }, (_, i) => ({
        version: i + 1,
        digest: `sha256:${hex(s * 1000 + i)}`,
        layer: { digest: `sha256:${hex(s * 1000 + i)}`, size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
        install: `/srv/${name}`,
        source: 'directory',
        created: '2026-01-01T00:00:00Z',
        recordedAt: '2026-01-01T00:00:00Z',
        recordedBy: 'bench',
        generation: 1,
      })),
    };
  }
  const builds = {};
  for (let i = 0; i < BUILDS; i++) {
    const image = `image${i % 10}`;
    const members = [0, 1, 2, 3].map((k) => SERVICES[((i % 10) + k) % SERVICES.length]);
    const vector = Object.fromEntries(members.map((m, k) => [m, 1 + ((Math.floor(i / 10) + k * 7) % VERSIONS)]));
    (builds[image] ??= []).push({
      id: Math.floor(i / 10) + 1,
      image,
      digest: `sha256:${hex(100000 + i)}`,
      config: `sha256:${hex(200000 + i)}`,
      level: 'heavy',
      vector,
      serviceLayers: {},
      base: 'scratch',
      created: '2026-01-01T00:00:00Z',
      builtAt: '2026-01-01T00:00:00Z',
      builtBy: 'bench',
      status: 'current',
      reproducible: true,
      generation: 1,
    });
  }
  return { schema: 1, generation: 1, services, builds, environments: {} };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeMs(fn) {
  const times = [];
  let result;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    result = fn();
    times.push(performance.now() - start);
  }
  return { median: median(times), max: Math.max(...times), result };
}

export async function benchRevoke(report) {
  const manifest = syntheticManifest();
  // One version named, found in every image that carries catalog.
  const wanted = (service, version) => service === 'catalog' && version === 42;
  const find = timeMs(() => buildsHolding(manifest, wanted));
  manifest.services.catalog.revocations = [
    { version: 42, revoked: true, reason: 'bench', at: '2026-01-02T00:00:00Z', by: 'bench', generation: 2 },
  ];
  const indexed = timeMs(() => {
    const index = revocationIndex(manifest);
    return buildsHolding(manifest, (s, v) => revocationOf(index, s, v) !== undefined);
  });
  const status = timeMs(() => revokedStatus(manifest));
  delete manifest.services.catalog.revocations;

  const tmp = tempDir('revoke');
  try {
    const file = join(tmp.dir, 'manifest.json');
    writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
    const jq = timed('jq', ['[.builds[][] | select(.vector.catalog == 42) | .digest] | length', file]);
    const size = Number(sh(`wc -c < ${file}`).trim());
    const commands = STORES.map((store) => {
      const env = { ...process.env, ...store.env };
      const ws = join(tmp.dir, store.name);
      mkdirSync(ws, { recursive: true });
      writeFileSync(join(ws, 'bake.yaml'), `services:\n${SERVICES.map((s) => `  ${s}: {source: ., install: /srv/${s}}`).join('\n')}\n`);
      bake(['-C', ws, '--json', 'migrate', '--from', file, '--to', store.name], { env });
      const revoke = bake(['-C', ws, '--json', 'revoke', 'catalog', '42', '--reason', 'bench'], { env });
      const held = JSON.parse(revoke.stdout).affected.builds.length;
      const statusRun = timed(process.execPath, [bakeBin, '-C', ws, '--json', 'status'], { env });
      return [
        [
          `bake revoke (process: read, record, write), ${store.name} store`,
          `${(revoke.seconds * 1000).toFixed(0)} ms, ${held} builds affected`,
        ],
        [`bake status --json (process), ${store.name} store`, `${(statusRun.seconds * 1000).toFixed(0)} ms`],
      ];
    });
    const pass = find.median < 50 && indexed.median < 50;
    report(`revoke: every build that holds a version, among ${BUILDS} builds (${(size / 1e6).toFixed(1)} MB manifest)`, [
      [
        'find the holders of catalog v42 (in process)',
        `${find.median.toFixed(2)} ms median, ${find.max.toFixed(2)} ms max: ${find.result.length} builds`,
      ],
      ['… from the revocation history (index + scan)', `${indexed.median.toFixed(2)} ms median, ${indexed.max.toFixed(2)} ms max`],
      ['status: every revoked version and its holders', `${status.median.toFixed(2)} ms median`],
      ['target: under 50 ms', pass ? 'met' : 'MISSED'],
      ...commands.flat(),
      ['peer: jq scanning the manifest file', `${(jq.seconds * 1000).toFixed(0)} ms (${jq.stdout.trim()} builds)`],
    ]);
    if (!pass) process.exitCode = 1;
  } finally {
    tmp.cleanup();
  }
}
