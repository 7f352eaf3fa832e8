// Issue 13's benchmark: `bake build --commit` against BuildKit (`DOCKER_BUILDKIT=1 docker build`)
// and the legacy builder, FROM scratch plus one COPY per service, at five scales, in one run:
// cold, after a one-file change, with nothing changed; medians of 3; bake's peak memory (max RSS);
// and the machine's limit, `tar -c --sort=name | sha256sum` over the same files.
//   BENCH_SCALES=small,mono   only these scales (names below)
//   BENCH_LARGE=1             add the 2 GB image (4 × 500 MB): minutes of setup and disk writes
//   BENCH_DOCKER=0            bake only
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, openSync, closeSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bake, fmt, gitEnv, hasDocker, median, peakRss, ratio, sh, tempDir, timed } from './lib.js';

const MB = 1e6;
const SCALES = [
  { name: 'small', services: 10, bytes: 5 * MB, files: 10 },
  { name: 'wide', services: 50, bytes: 2 * MB, files: 10 },
  { name: 'big', services: 10, bytes: 50 * MB, files: 10 },
  { name: 'mono', services: 200, bytes: 100e3, files: 10 },
  { name: 'large', services: 4, bytes: 500 * MB, files: 20, optIn: 'BENCH_LARGE' },
];
const ROUNDS = 3;
const LABEL = `dev.bake.bench=${process.pid}`;

/** Writes `size` bytes to `file`, in 1 MB pieces, text or random: big files never sit in memory. */
function writeData(file, size, kind, seed) {
  const line = Buffer.from(`${seed} lorem ipsum dolor sit amet, consectetur adipiscing elit ${'x'.repeat(20)}\n`);
  const text = Buffer.alloc(1 << 20, line);
  const fd = openSync(file, 'w');
  try {
    for (let left = size; left > 0; left -= 1 << 20) {
      const n = Math.min(left, 1 << 20);
      writeSync(fd, kind === 'text' ? text : randomBytes(n), 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/** A git workspace with `scale.services` services of `scale.bytes` each, half text, half random. */
export function makeWorkspace(dir, scale) {
  const services = Array.from({ length: scale.services }, (_, s) => `svc${String(s).padStart(3, '0')}`);
  let yaml = 'services:\n';
  for (const name of services) {
    const src = join(dir, 'services', name);
    mkdirSync(src, { recursive: true });
    const size = Math.floor(scale.bytes / scale.files);
    for (let f = 0; f < scale.files; f++) {
      const kind = f % 2 === 0 ? 'text' : 'bin';
      writeData(join(src, `${kind}-${f}.${kind === 'text' ? 'txt' : 'bin'}`), size, kind, `${name}-${f}`);
    }
    writeFileSync(join(src, 'run.sh'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    yaml += `  ${name}: {source: services/${name}, install: /srv/${name}, run: /srv/${name}/run.sh}\n`;
  }
  writeFileSync(join(dir, 'bake.yaml'), yaml);
  mkdirSync(join(dir, 'recipes'));
  writeFileSync(join(dir, 'recipes', 'big.yaml'), `image: big\nbake: heavy\nbase: scratch\nservices: [${services.join(', ')}]\n`);
  // Docker images hold at most 127 layers: the monorepo gets one COPY of all its services.
  const copies = services.length > 100 ? ['COPY services /srv'] : services.map((s) => `COPY services/${s} /srv/${s}`);
  writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\n${copies.join('\n')}\n`);
  writeFileSync(join(dir, '.dockerignore'), '.bake\n.git\n');
  writeFileSync(join(dir, '.gitignore'), '.bake/\n');
  sh('git init -q -b main && git add -A && git commit -qm init', { cwd: dir, env: gitEnv });
  return services;
}

/**
 * `bake build --commit big` (what a CI job runs on a push), timed as a developer runs it: through
 * the build daemon once one is up (bin/daemon-client.js; the first command starts it).
 */
function bakeBuild(dir, extra = ['--commit'], env = process.env) {
  const run = bake(['-C', dir, '--json', 'build', ...extra, 'big'], { env });
  return { seconds: run.seconds, digest: JSON.parse(run.stdout).builds[0].digest };
}

/** The same in a process of its own (BAKE_DAEMON=0, as under CI=true), with its peak memory: through the daemon, GNU time would see only the client. */
function bakeBuildAlone(dir, extra = ['--commit']) {
  const run = bake(['-C', dir, '--json', 'build', ...extra, 'big'], { rss: peakRss, env: { ...process.env, BAKE_DAEMON: '0' } });
  return { seconds: run.seconds, rss: run.rss ?? Number.NaN, digest: JSON.parse(run.stdout).builds[0].digest };
}

/**
 * NODE_EXTRA_CA_CERTS makes Node parse that certificate file (and its own bundled roots) when it
 * starts, before any script runs: about 100 ms of every Node process on these machines. bin/bake
 * starts Node without it (bake reads the file itself when it opens a TLS connection); Node's own
 * start is printed with it set and unset, so what is Node's start and what is bake's work can be
 * told apart.
 */
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS;
const envWithoutCa = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));

/** The floor of any Node command here: `node -e ''`, median of five, with the given environment. */
function nodeFloor(env) {
  return median(Array.from({ length: 5 }, () => timed(process.execPath, ['-e', ''], { env }).seconds));
}

function dockerBuild(dir, builder, tag, noCache) {
  const env = { ...process.env, DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' };
  const args = ['build', '-q', ...(noCache ? ['--no-cache'] : []), '--label', LABEL, '-t', tag, '.'];
  return timed('/usr/bin/docker', args, { cwd: dir, env }).seconds;
}

function changeOneFile(dir, service, round) {
  appendFileSync(join(dir, 'services', service, 'text-0.txt'), `one more line, round ${round}\n`);
  sh('git commit -qam change', { cwd: dir, env: gitEnv });
}

async function benchScale(scale, docker) {
  const tmp = tempDir(`bake-${scale.name}`);
  const tag = `bake-bench-${process.pid}-${scale.name}`;
  try {
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    const services = makeWorkspace(ws, scale);
    const bytes = Number(sh('du -sb services | cut -f1', { cwd: ws }).trim());
    const limit = median(
      Array.from({ length: ROUNDS }, () => timed('sh', ['-c', 'tar -c --sort=name services | sha256sum >/dev/null'], { cwd: ws }).seconds),
    );

    // Cold: each round in a fresh clone, so neither bake's store nor BuildKit's context cache
    // (keyed by the context directory) has seen the files; --no-cache for both Docker builders.
    const cold = { bake: [], alone: [], rss: [], digests: new Set(), buildkit: [], legacy: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const clone = join(tmp.dir, `cold${r}`);
      sh(`git clone -q ${ws} ${clone}`);
      const b = bakeBuild(clone);
      cold.bake.push(b.seconds);
      cold.digests.add(b.digest);
      const aloneClone = `${clone}-alone`;
      sh(`git clone -q ${ws} ${aloneClone}`);
      const a = bakeBuildAlone(aloneClone);
      cold.alone.push(a.seconds);
      cold.rss.push(a.rss);
      cold.digests.add(a.digest);
      sh(`rm -rf ${aloneClone}`);
      if (docker) {
        cold.buildkit.push(dockerBuild(clone, 'buildkit', `${tag}:bk-cold`, true));
        cold.legacy.push(dockerBuild(clone, 'legacy', `${tag}:legacy-cold`, true));
      }
      sh(`rm -rf ${clone}`);
    }

    // One-file change in one service (a different round each time), after a first build of each.
    const changed = services[Math.floor(services.length / 2)];
    bakeBuild(ws);
    if (docker) {
      dockerBuild(ws, 'buildkit', `${tag}:bk`, false);
      dockerBuild(ws, 'legacy', `${tag}:legacy`, false);
    }
    const change = { bake: [], alone: [], rss: [], buildkit: [], legacy: [] };
    for (let r = 0; r < ROUNDS; r++) {
      changeOneFile(ws, changed, r);
      const b = bakeBuild(ws);
      change.bake.push(b.seconds);
      changeOneFile(ws, changed, `${r} alone`);
      const a = bakeBuildAlone(ws);
      change.alone.push(a.seconds);
      change.rss.push(a.rss);
      if (docker) {
        change.buildkit.push(dockerBuild(ws, 'buildkit', `${tag}:bk`, false));
        change.legacy.push(dockerBuild(ws, 'legacy', `${tag}:legacy`, false));
      }
    }

    // Nothing changed: `build --commit` (commit finds nothing new) and plain `build`, against Node's own start.
    const same = { commit: [], build: [], alone: [], rss: [], buildkit: [] };
    for (let r = 0; r < ROUNDS; r++) {
      const c = bakeBuild(ws);
      const p = bakeBuild(ws, []);
      same.commit.push(c.seconds);
      same.build.push(p.seconds);
      const a = bakeBuildAlone(ws, []);
      same.alone.push(a.seconds);
      same.rss.push(a.rss);
      if (docker) same.buildkit.push(dockerBuild(ws, 'buildkit', `${tag}:bk`, false));
    }
    const floor = { env: nodeFloor(process.env), bare: extraCaCerts ? nodeFloor(envWithoutCa) : undefined };

    const m = (xs) => median(xs);
    const rss = Math.max(...cold.rss, ...change.rss, ...same.rss);
    const rows = [
      ['data', `${services.length} services, ${(bytes / MB).toFixed(1)} MB`],
      ['tar -c --sort=name | sha256sum (limit)', fmt(limit)],
      ['bake cold (build --commit)', `${fmt(m(cold.bake))}  = ${ratio(m(cold.bake), limit)} the limit (target ≤ 1.5× at 10 × 50 MB)`],
      ['bake one-file change', fmt(m(change.bake))],
      ['bake nothing changed: build --commit / build', `${fmt(m(same.commit))} / ${fmt(m(same.build))} (target < 0.100 s)`],
      [
        '… each in its own process (BAKE_DAEMON=0, as in CI): cold / change / nothing',
        `${fmt(m(cold.alone))} / ${fmt(m(change.alone))} / ${fmt(m(same.alone))}`,
      ],
      ...(floor.bare === undefined
        ? [['node -e "" (the start of any Node command)', fmt(floor.env)]]
        : [['node -e "" (the start of any Node command): NODE_EXTRA_CA_CERTS set / unset', `${fmt(floor.env)} / ${fmt(floor.bare)}`]]),
      [
        'bake peak memory (max RSS, in its own process)',
        `${(rss / 1024).toFixed(0)} MB (cold ${(Math.max(...cold.rss) / 1024).toFixed(0)} MB; target < 150 MB)`,
      ],
      [
        'bake digest, 3 fresh clones',
        cold.digests.size === 1 ? `identical ${[...cold.digests][0].slice(0, 19)}` : `${cold.digests.size} DIFFERENT`,
      ],
    ];
    if (docker) {
      rows.push(
        [
          'BuildKit cold (--no-cache) / one-file change / nothing',
          `${fmt(m(cold.buildkit))} / ${fmt(m(change.buildkit))} / ${fmt(m(same.buildkit))}`,
        ],
        ['legacy builder cold (--no-cache) / one-file change', `${fmt(m(cold.legacy))} / ${fmt(m(change.legacy))}`],
        [
          'speed-up cold: BuildKit / bake',
          `${ratio(m(cold.buildkit), m(cold.bake))} (target ≥ 3×); legacy / bake ${ratio(m(cold.legacy), m(cold.bake))}`,
        ],
        [
          'speed-up one-file change: BuildKit / bake',
          `${ratio(m(change.buildkit), m(change.bake))} (target ≥ 5×); legacy / bake ${ratio(m(change.legacy), m(change.bake))}`,
        ],
      );
    } else {
      rows.push(['docker build', 'SKIPPED: no Docker engine answers (start dockerd), or BENCH_DOCKER=0']);
    }
    return {
      rows,
      summary: { scale, bytes, limit, cold: m(cold.bake), change: m(change.bake), same: m(same.build), floor: floor.env, rss },
    };
  } finally {
    if (docker) removeImages();
    tmp.cleanup();
  }
}

/** Removes exactly the images this run created (by label) and the build cache BuildKit kept for them. */
function removeImages() {
  sh(`/usr/bin/docker images -q --filter label=${LABEL} | sort -u | xargs -r /usr/bin/docker rmi -f >/dev/null 2>&1 || true`);
  sh('/usr/bin/docker builder prune -af --filter type=source.local >/dev/null 2>&1 || true');
  sh('/usr/bin/docker builder prune -af --filter type=regular >/dev/null 2>&1 || true');
}

export async function benchBakeVsDocker(report) {
  const docker = process.env.BENCH_DOCKER !== '0' && hasDocker();
  const only = process.env.BENCH_SCALES?.split(',');
  const summaries = [];
  for (const scale of SCALES) {
    if (only ? !only.includes(scale.name) : scale.optIn !== undefined && process.env[scale.optIn] !== '1') continue;
    const { rows, summary } = await benchScale(scale, docker);
    summaries.push(summary);
    report(`bake vs BuildKit and the legacy builder: ${scale.name} (${scale.services} × ${(scale.bytes / MB).toFixed(1)} MB)`, rows);
  }
  // One-file change cost should follow the changed service's size, not the image's.
  report(
    'bake across scales',
    summaries.map((s) => [
      `${s.scale.name} (${(s.bytes / MB).toFixed(0)} MB)`,
      `cold ${fmt(s.cold)} (${ratio(s.cold, s.limit)} limit), change ${fmt(s.change)} (service ${(s.scale.bytes / MB).toFixed(1)} MB), nothing ${fmt(s.same)} (node's start ${fmt(s.floor)}), ${(s.rss / 1024).toFixed(0)} MB`,
    ]),
  );
}
