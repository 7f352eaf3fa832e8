// Issue 16's benchmark: what the compatibility part of the release gate costs on a large workspace —
// one image of 200 services, each providing 20 interfaces and requiring 20 of another service's,
// two versions each, a rolling upgrade of 4 replicas from v1 to v2 (5 windows: every mix is judged).
// The peer is the same gate on the same manifest without declarations (what the gate cost before).
// Target: under 50 ms. Runs in-process against dist/ (npm run build first).
import { checkRelease } from '../dist/release/gate.js';

const SERVICES = 200;
const INTERFACES = 20;
const RUNS = 20;

function manifest(declared) {
  const services = {};
  for (let i = 0; i < SERVICES; i++) {
    const versions = [1, 2].map((version) => ({
      version,
      digest: `sha256:${String(i * 10 + version).padStart(64, '0')}`,
      layer: {
        digest: `sha256:${String(i * 10 + version).padStart(64, '0')}`,
        size: 1,
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
      },
      install: `/srv/s${i}`,
      source: 'git',
      created: '2026-01-01T00:00:00Z',
      recordedAt: '2026-01-01T00:00:00Z',
      recordedBy: 'bench',
      generation: version,
      ...(declared && {
        // v2 moves every interface to major 3; consumers accept a spread of ranges that all admit 2 and 3.
        provides: Object.fromEntries(Array.from({ length: INTERFACES }, (_, j) => [`s${i}-api-${j}`, version + 1])),
        requires: Object.fromEntries(
          Array.from({ length: INTERFACES }, (_, j) => [`s${(i + 1) % SERVICES}-api-${j}`, `>=${1 + (j % 2)} <${4 + (j % 5)}`]),
        ),
      }),
    }));
    services[`s${i}`] = { versions };
  }
  const vector = (v) => Object.fromEntries(Array.from({ length: SERVICES }, (_, i) => [`s${i}`, v]));
  const release = {
    id: 1,
    env: 'prod',
    image: 'big',
    build: 1,
    digest: `sha256:${'a'.repeat(64)}`,
    vector: vector(1),
    level: 'heavy',
    serviceLayers: {},
    at: '',
    by: 'bench',
    overrides: [],
    state: 'committed',
    generation: 3,
  };
  const build = {
    ...release,
    id: 2,
    vector: vector(2),
    config: release.digest,
    base: 'scratch',
    created: '',
    builtAt: '',
    builtBy: '',
    status: 'current',
    reproducible: true,
  };
  return {
    input: {
      manifest: {
        schema: 1,
        generation: 4,
        services,
        builds: { big: [build] },
        environments: { prod: { live: { big: 1 }, releases: [release], refusals: [] } },
      },
      build,
      env: 'prod',
      allowStale: false,
      rollback: false,
      rollout: { strategy: 'rolling', replicas: 4, batch: 1 },
    },
  };
}

function measure(input) {
  const times = [];
  let verdict;
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    verdict = checkRelease(input);
    times.push(performance.now() - started);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { first: times[0], median: sorted[Math.floor(sorted.length / 2)], verdict };
}

export async function benchCompat(report) {
  const declared = measure(manifest(true).input);
  const plain = measure(manifest(false).input);
  if (declared.verdict.incompatible) throw new Error(`the benchmark's manifest should pass: ${declared.verdict.incompatible.message}`);
  const ms = (x) => `${x.toFixed(1)} ms`;
  report(`compatibility gate: ${SERVICES} services × ${INTERFACES} interfaces, rolling 4 replicas (5 windows)`, [
    ['gate, first call (cold caches)', `${ms(declared.first)} ${declared.first < 50 ? '(under 50 ms)' : '(OVER 50 ms)'}`],
    ['gate, median of the next calls', ms(declared.median)],
    ['peer: the same gate without declarations', `${ms(plain.median)} median, ${ms(plain.first)} first`],
    ['cost of the compatibility check', `${ms(declared.median - plain.median)} per release`],
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchCompat((title, rows) => {
    process.stdout.write(`\n== ${title}\n`);
    for (const [k, v] of rows) process.stdout.write(`  ${k}  ${v}\n`);
  });
}
