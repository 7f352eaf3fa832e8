// Issue 2's benchmark: bake a 10-service recipe (10 × 5 MB, half text, half random bytes) cold
// and after a one-file change, against `docker build` of the equivalent Dockerfile, and against
// the machine's limit (tar | sha256sum, tar | gzip -1).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { bake, fmt, gitEnv, hasDocker, ratio, sh, tempDir, timed } from './lib.js';

const SERVICES = 10;
const FILES_PER_KIND = 5; // 5 text + 5 binary files of 0.5 MB each = 5 MB per service

function makeWorkspace(dir) {
  const services = [];
  let lines = 'services:\n';
  for (let s = 0; s < SERVICES; s++) {
    const name = `svc${s}`;
    const src = join(dir, 'services', name);
    mkdirSync(src, { recursive: true });
    for (let f = 0; f < FILES_PER_KIND; f++) {
      let text = '';
      while (text.length < 512 * 1024) text += `${name} line ${text.length} lorem ipsum dolor sit amet consectetur\n`;
      writeFileSync(join(src, `text-${f}.txt`), text.slice(0, 512 * 1024));
      writeFileSync(join(src, `blob-${f}.bin`), randomBytes(512 * 1024));
    }
    writeFileSync(join(src, 'run.sh'), `#!/bin/sh\nexec sleep 1000\n`, { mode: 0o755 });
    lines += `  ${name}: {source: services/${name}, install: /srv/${name}, run: /srv/${name}/run.sh}\n`;
    services.push(name);
  }
  writeFileSync(join(dir, 'bake.yaml'), lines);
  mkdirSync(join(dir, 'recipes'));
  writeFileSync(join(dir, 'recipes', 'big.yaml'), `image: big\nbake: heavy\nbase: scratch\nservices: [${services.join(', ')}]\n`);
  writeFileSync(join(dir, 'Dockerfile'), `FROM scratch\n${services.map((s) => `COPY services/${s} /srv/${s}`).join('\n')}\n`);
  writeFileSync(join(dir, '.dockerignore'), '.bake\n.git\n');
  writeFileSync(join(dir, '.gitignore'), '.bake/\n');
  sh('git init -q -b main && git add -A && git commit -qm init', { cwd: dir, env: gitEnv });
  return services;
}

/** One process commits the recipe's services and bakes it: what a CI job runs on a push. */
function bakeAll(dir) {
  const build = bake(['-C', dir, '--json', 'build', '--commit', 'big']);
  return { seconds: build.seconds, digest: JSON.parse(build.stdout).builds[0].digest };
}

export async function benchBakeVsDocker(report) {
  const a = tempDir('bake');
  const b = tempDir('bake2');
  const tag = `bake-bench-${process.pid}`;
  try {
    makeWorkspace(a.dir);
    const bytes = Number(sh('du -sb services | cut -f1', { cwd: a.dir }).trim());
    // The machine's limit over the same files.
    const tarHash = timed('sh', ['-c', 'tar -c services | sha256sum >/dev/null'], { cwd: a.dir }).seconds;
    const tarGzip = timed('sh', ['-c', 'tar -c services | gzip -1 >/dev/null'], { cwd: a.dir }).seconds;

    const cold = bakeAll(a.dir);
    // Same committed versions in a fresh clone, later: must give the same digest.
    sh(`git clone -q ${a.dir} ${b.dir}/clone`);
    const clone = bakeAll(join(b.dir, 'clone'));
    appendFileSync(join(a.dir, 'services', 'svc3', 'text-0.txt'), 'one more line\n');
    sh('git commit -qam change', { cwd: a.dir, env: gitEnv });
    const warm = bakeAll(a.dir);

    const rows = [
      ['data', `${SERVICES} services, ${(bytes / 1e6).toFixed(1)} MB`],
      ['tar | sha256sum (limit)', fmt(tarHash)],
      ['tar | gzip -1', `${fmt(tarGzip)} (${(bytes / 1e6 / tarGzip).toFixed(0)} MB/s)`],
      ['bake cold (bake build --commit)', fmt(cold.seconds)],
      ['bake after one-file change', fmt(warm.seconds)],
      ['bake cold / tar+sha256 limit', ratio(cold.seconds, tarHash)],
      [
        'bake digest reproducible (fresh clone)',
        cold.digest === clone.digest ? `yes ${cold.digest.slice(0, 19)}` : `NO ${cold.digest} vs ${clone.digest}`,
      ],
    ];
    if (hasDocker()) {
      const ids = [];
      let dockerCold = 0;
      for (let i = 0; i < 3; i++) {
        const t = timed('/usr/bin/docker', ['build', '--no-cache', '-q', '-t', `${tag}:cold${i}`, '--label', 'dev.bake.bench=1', '.'], {
          cwd: a.dir,
        });
        ids.push(t.stdout.trim());
        if (i === 0) dockerCold = t.seconds;
        // Revert to the pre-change content for a fair cold comparison is not needed: same size.
      }
      timed('/usr/bin/docker', ['build', '-q', '-t', `${tag}:warm`, '.'], { cwd: a.dir });
      appendFileSync(join(a.dir, 'services', 'svc3', 'text-0.txt'), 'and another\n');
      const dockerWarm = timed('/usr/bin/docker', ['build', '-q', '-t', `${tag}:warm`, '.'], { cwd: a.dir }).seconds;
      rows.push(
        ['docker build cold (--no-cache)', fmt(dockerCold)],
        ['docker build after one-file change (cached)', fmt(dockerWarm)],
        ['docker cold image IDs (3 builds)', new Set(ids).size === 1 ? 'identical' : `${new Set(ids).size} different`],
        ['speed-up cold: docker / bake', `${ratio(dockerCold, cold.seconds)} (target ≥ 4×)`],
        ['speed-up one-service change: docker / bake', `${ratio(dockerWarm, warm.seconds)} (target ≥ 10×)`],
      );
      sh(`/usr/bin/docker images -q --filter label=dev.bake.bench=1 | sort -u | xargs -r /usr/bin/docker rmi -f >/dev/null 2>&1 || true`);
      sh(`/usr/bin/docker rmi -f ${tag}:warm >/dev/null 2>&1 || true`);
    } else {
      rows.push(['docker build', 'SKIPPED: no Docker engine answers (start dockerd)']);
    }
    rows.push([
      'bake cold within 2× of the limit',
      cold.seconds <= 2 * Math.max(tarHash, 0.001) ? 'yes' : `no (${ratio(cold.seconds, tarHash)})`,
    ]);
    report('bake vs docker build (10 services × 5 MB)', rows);
  } finally {
    a.cleanup();
    b.cleanup();
  }
}
