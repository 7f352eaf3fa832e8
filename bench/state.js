// Issue 14's benchmark: the shared state. (1) Recorded writes per second and the p99 wait with 16
// concurrent clients making small commits through the HTTP API (no client process start-up: the
// clients are in this process, each commit a tiny new tree uploaded and committed, so a real
// recorded write), against `bake serve` on the JSON file store, SQLite, and PostgreSQL with one
// replica and with two. (2) Per-command cost with a year of history (20,000 versions, 5,000
// builds, seeded through `bake migrate --from FILE`) against a fresh store, on SQLite and
// PostgreSQL. PostgreSQL: BAKE_BENCH_DATABASE_URL, else BAKE_TEST_DATABASE_URL, else the test
// cluster (scripts/test-postgres.sh). BENCH_STATE_SECONDS sets each throughput run's length (5),
// after BENCH_STATE_WARMUP_SECONDS (1) of the same, not counted; BENCH_STATE_PARTS picks
// `throughput` or `history` (both).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { basename, join } from 'node:path';
import { makeWorkspace } from './bake-vs-docker.js';
import { bake, bakeBin, median, percentile, root, sh, tempDir } from './lib.js';

const CLIENTS = 16;
const SECONDS = Number(process.env.BENCH_STATE_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_STATE_WARMUP_SECONDS ?? 1);
const VERSIONS = 20_000;
const BUILDS = 5_000;

/** One file in a ustar archive, every header field set (mode 0644, uid/gid 0, mtime 0). */
function tarOf(name, content) {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  const field = (offset, length, value) => header.write(value, offset, length, 'latin1');
  const octal = (offset, length, n) => field(offset, length, `${n.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, body.length);
  octal(136, 12, 0);
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, pad, Buffer.alloc(1024)]);
}

/** POST with a keep-alive agent; resolves with {status, text}. */
function post(agent, base, path, body, type, headers = {}) {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { 'content-type': type, 'content-length': body.length, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One small commit of `service` through the API: upload its one-file tree, commit it. Resolves with whether a version was recorded. */
export async function commitOnce(agent, base, service, content) {
  const tar = tarOf('VERSION', content);
  const hex = createHash('sha256').update(tar).digest('hex');
  const up = await post(agent, base, `/v1/uploads?digest=sha256:${hex}`, tar, 'application/x-tar');
  if (up.status !== 200) throw new Error(`upload: HTTP ${up.status} ${up.text}`);
  const body = Buffer.from(JSON.stringify({ command: 'commit', options: { services: [{ service, upload: hex }] } }));
  const answer = await post(agent, base, '/v1/commands', body, 'application/json', { 'idempotency-key': randomUUID() });
  const last = JSON.parse(answer.text.trim().split('\n').at(-1));
  if (!last.result) throw new Error(`commit: ${JSON.stringify(last.error ?? last).slice(0, 300)}`);
  return last.result.commits[0]?.created === true;
}

/** A workspace of `count` plain-directory services (one per client, so the history gate never refuses), no git. */
export function commitWorkspace(dir, count) {
  let yaml = 'services:\n';
  for (let i = 0; i < count; i++) {
    const name = `s${String(i).padStart(2, '0')}`;
    mkdirSync(join(dir, 'services', name), { recursive: true });
    writeFileSync(join(dir, 'services', name, 'VERSION'), `${name}\n`);
    yaml += `  ${name}: {source: services/${name}, install: /srv/${name}}\n`;
  }
  writeFileSync(join(dir, 'bake.yaml'), yaml);
}

/** `bake serve --no-auth --port 0` in `dir` with `env`; resolves with its URL and a stop function. */
async function serve(dir, env) {
  const args = ['-C', dir, 'serve', '--no-auth', '--port', '0'];
  // bin/bake is a shell script that starts Node (as users run it); a BAKE_BENCH_BIN ending in .js is started here.
  const [file, argv] = bakeBin.endsWith('.js') ? [process.execPath, [bakeBin, ...args]] : [bakeBin, args];
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let errors = '';
  child.stderr.on('data', (d) => (errors += d));
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).url));
    child.once('exit', (code) => reject(new Error(`bake serve exited ${code}: ${errors}`)));
  });
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

/** A fresh PostgreSQL database; undefined when no server can be had. */
export function postgresDatabase(name) {
  let server = process.env.BAKE_BENCH_DATABASE_URL ?? process.env.BAKE_TEST_DATABASE_URL;
  if (!server) {
    const started = spawnSync('sh', [join(root, 'scripts', 'test-postgres.sh')], { encoding: 'utf8' });
    server = started.status === 0 ? started.stdout.trim() : undefined;
  }
  if (!server) return undefined;
  const db = `bake_bench_${name}_${randomBytes(3).toString('hex')}`;
  sh(`psql '${server}' -Atqc 'CREATE DATABASE ${db}'`);
  const url = new URL(server);
  url.pathname = `/${db}`;
  return { url: url.toString(), drop: () => sh(`psql '${server}' -Atqc 'DROP DATABASE IF EXISTS ${db} WITH (FORCE)'`) };
}

/**
 * 16 clients committing as fast as they can for SECONDS, spread over the replicas, after WARMUP
 * seconds of the same (a service that has been up a while: its code compiled, its connections
 * open); resolves with recorded writes per second, the p50/p99 of a commit's wait (upload +
 * commit), and how many the store counted.
 */
export async function throughput(urls, generation) {
  if (WARMUP > 0) await drive(urls, WARMUP, () => undefined);
  const waits = [];
  let recorded = 0;
  let failed = 0;
  const before = await generation();
  const started = performance.now();
  await drive(urls, SECONDS, (outcome) => {
    if (outcome.error) {
      failed++;
      if (failed === 1) process.stderr.write(`state bench: ${outcome.error.message}\n`);
      return;
    }
    if (outcome.created) recorded++;
    waits.push(outcome.wait);
  });
  const seconds = (performance.now() - started) / 1000;
  return {
    rate: recorded / seconds,
    p50: percentile(waits, 50),
    p99: percentile(waits, 99),
    recorded,
    failed,
    generations: (await generation()) - before,
  };
}

/** CLIENTS clients (one service each) committing for `seconds`, each commit's outcome to `report`. */
async function drive(urls, seconds, report) {
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const service = `s${String(c).padStart(2, '0')}`;
      const base = urls[c % urls.length];
      for (let n = 0; performance.now() < deadline; n++) {
        const t = performance.now();
        try {
          const created = await commitOnce(agent, base, service, `${service} ${n} ${randomUUID()}\n`);
          report({ created, wait: performance.now() - t });
        } catch (error) {
          report({ error });
        }
      }
      agent.destroy();
    }),
  );
}

/** The generation of a workspace's store, as `bake status --json` reports it. */
function generationOf(dir, env) {
  return async () => JSON.parse(bake(['-C', dir, '--json', 'status'], { env: { ...process.env, ...env } }).stdout).generation;
}

async function benchThroughput(report) {
  const rows = [];
  const cases = [
    { name: 'JSON file store, one replica', env: { BAKE_DATABASE_URL: 'json' }, replicas: 1 },
    { name: 'SQLite, one replica', env: {}, replicas: 1 },
    { name: 'PostgreSQL, one replica', postgres: true, replicas: 1 },
    { name: 'PostgreSQL, two replicas', postgres: true, replicas: 2 },
  ];
  for (const c of cases) {
    const tmp = tempDir('state');
    const db = c.postgres ? postgresDatabase('tput') : undefined;
    if (c.postgres && !db) {
      rows.push([c.name, 'skipped: no PostgreSQL (set BAKE_BENCH_DATABASE_URL)']);
      continue;
    }
    const env = { ...c.env, ...(db && { BAKE_DATABASE_URL: db.url }) };
    const servers = [];
    try {
      for (let r = 0; r < c.replicas; r++) {
        const dir = join(tmp.dir, `replica-${r}`);
        mkdirSync(dir);
        commitWorkspace(dir, CLIENTS);
        servers.push(await serve(dir, env));
      }
      const result = await throughput(
        servers.map((s) => s.url),
        generationOf(join(tmp.dir, 'replica-0'), env),
      );
      rows.push([
        c.name,
        `${result.rate.toFixed(0)} writes/s, wait p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms ` +
          `(${result.recorded} recorded = ${result.generations} generations, ${result.failed} failed)`,
      ]);
    } finally {
      for (const s of servers) await s.stop();
      db?.drop();
      tmp.cleanup();
    }
  }
  report(
    `state: ${CLIENTS} concurrent clients, small commits through the HTTP API, ${SECONDS} s each after ${WARMUP} s of warm-up (target: ≥ 1000 writes/s through two replicas on PostgreSQL, p99 < 100 ms)`,
    rows,
  );
}

/** Prepends a year of history (20,000 versions over the services, 5,000 builds) to an exported manifest. */
function addYear(m) {
  const hex = (n) => randomBytes(n).toString('hex');
  const services = Object.values(m.services);
  const perService = Math.floor(VERSIONS / services.length);
  for (const history of services) {
    const template = history.versions[0];
    const fake = Array.from({ length: perService }, (_, i) => ({
      ...template,
      version: i + 1,
      digest: `sha256:${hex(32)}`,
      recordedAt: new Date(Date.UTC(2025, 0, 1) + i * 3600e3).toISOString(),
      generation: i + 1,
    }));
    history.versions = [...fake, ...history.versions.map((v) => ({ ...v, version: v.version + perService }))];
  }
  for (const builds of Object.values(m.builds)) {
    const template = builds[0];
    const fake = Array.from({ length: BUILDS }, (_, i) => ({
      ...template,
      id: i + 1,
      digest: `sha256:${hex(32)}`,
      vector: Object.fromEntries(Object.keys(template.vector).map((s) => [s, 1 + Math.floor((i * perService) / BUILDS)])),
      status: 'stale',
      generation: i + 1,
    }));
    const shifted = builds.map((b) => ({
      ...b,
      id: b.id + BUILDS,
      vector: Object.fromEntries(Object.entries(b.vector).map(([s, v]) => [s, v + perService])),
    }));
    builds.splice(0, builds.length, ...fake, ...shifted);
  }
  m.generation += VERSIONS + BUILDS;
  return m;
}

/** Median seconds of `runs` CLI runs. */
function cli(dir, args, env, runs = 5) {
  return median(Array.from({ length: runs }, () => bake(['-C', dir, '--json', ...args], { env: { ...process.env, ...env } }).seconds));
}

/** Median ms of 40 small commits through the API, one at a time. */
async function apiCommit(url) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  for (let n = 0; n < 40; n++) {
    const t = performance.now();
    await commitOnce(agent, url, 'svc000', `svc000 ${n} ${randomUUID()}\n`);
    times.push(performance.now() - t);
  }
  agent.destroy();
  return { p50: median(times), p99: percentile(times, 99) };
}

/** What one workspace's commands cost on a store: `bake build big` and `bake status` (CLI), a small commit (API). */
async function costs(dir, env) {
  bake(['-C', dir, '--json', 'build', 'big'], { env: { ...process.env, ...env } }); // settle one-time work
  const build = cli(dir, ['build', 'big'], env);
  const status = cli(dir, ['status'], env);
  const server = await serve(dir, env);
  try {
    return { build, status, commit: await apiCommit(server.url) };
  } finally {
    await server.stop();
  }
}

async function benchHistory(report) {
  const rows = [];
  const tmp = tempDir('state-history');
  try {
    const fresh = join(tmp.dir, 'fresh');
    mkdirSync(fresh);
    makeWorkspace(fresh, { services: 10, bytes: 1e5, files: 2 });
    bake(['-C', fresh, '--json', 'build', '--commit', 'big']);
    const exported = join(tmp.dir, 'manifest.json');
    bake(['-C', fresh, 'export', '--out', exported]);
    const year = join(tmp.dir, 'year.json');
    writeFileSync(year, JSON.stringify(addYear(JSON.parse(readFileSync(exported, 'utf8')))));
    for (const kind of ['sqlite', 'postgres']) {
      const freshDb = kind === 'postgres' ? postgresDatabase('fresh') : undefined;
      const yearDb = kind === 'postgres' ? postgresDatabase('year') : undefined;
      if (kind === 'postgres' && (!freshDb || !yearDb)) {
        rows.push([kind, 'skipped: no PostgreSQL']);
        continue;
      }
      try {
        const measured = {};
        for (const [label, file, db] of [
          ['fresh', exported, freshDb],
          ['year', year, yearDb],
        ]) {
          // The same workspace and blobs; only the store's history differs. Seeded as a user would: bake migrate --from FILE.
          const dir = join(tmp.dir, `${kind}-${label}`);
          cpSync(fresh, dir, { recursive: true, filter: (src) => !/^state(\.requests)?\.db/.test(basename(src)) });
          const env = db ? { BAKE_DATABASE_URL: db.url } : {};
          const migrated = bake(['-C', dir, '--json', 'migrate', '--from', file, ...(db ? ['--to', db.url] : [])], {
            env: { ...process.env, ...env },
          });
          if (!JSON.parse(migrated.stdout).generation) throw new Error(`migrate: ${migrated.stdout}`);
          measured[label] = await costs(dir, env);
        }
        const { fresh: f, year: y } = measured;
        const r = (a, b) => `${(a / b).toFixed(2)}×`;
        rows.push([
          `${kind}: bake build big, nothing changed (CLI)`,
          `fresh ${(f.build * 1000).toFixed(0)} ms, a year ${(y.build * 1000).toFixed(0)} ms: ${r(y.build, f.build)}`,
        ]);
        rows.push([
          `${kind}: bake status (CLI)`,
          `fresh ${(f.status * 1000).toFixed(0)} ms, a year ${(y.status * 1000).toFixed(0)} ms: ${r(y.status, f.status)}`,
        ]);
        rows.push([
          `${kind}: small commit through the API`,
          `fresh p50 ${f.commit.p50.toFixed(1)} ms, a year p50 ${y.commit.p50.toFixed(1)} ms: ${r(y.commit.p50, f.commit.p50)} ` +
            `(p99 ${f.commit.p99.toFixed(1)} / ${y.commit.p99.toFixed(1)} ms)`,
        ]);
      } finally {
        freshDb?.drop();
        yearDb?.drop();
      }
    }
  } finally {
    tmp.cleanup();
  }
  report(`state: per-command cost with a year of history (${VERSIONS} versions, ${BUILDS} builds) vs a fresh store (target ≤ 1.2×)`, rows);
}

/** BENCH_STATE_PARTS (default `throughput,history`) picks the parts to run. */
export async function benchState(report) {
  const parts = (process.env.BENCH_STATE_PARTS ?? 'throughput,history').split(',');
  if (parts.includes('throughput')) await benchThroughput(report);
  if (parts.includes('history')) await benchHistory(report);
}
