// Issue 4's and issue 13's push benchmarks. Issue 4's: a 10-service image (10 × 5 MB) pushed to Debian's docker-registry on
// 127.0.0.1, cold and with 9 of 10 service layers already there, by `bake push` (distribution
// API, no engine) and by `docker push` of the same image in the same run.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeWorkspace } from './bake-vs-docker.js';
import { bake, fmt, gitEnv, hasDocker, ratio, sh, tempDir, timed } from './lib.js';

function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRegistry(dir) {
  const port = await freePort();
  writeFileSync(
    join(dir, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { address: `127.0.0.1:${port}`, stop: () => child.kill() };
}

function workspace(dir) {
  let yaml = 'services:\n';
  for (let s = 0; s < 10; s++) {
    mkdirSync(join(dir, 'services', `svc${s}`), { recursive: true });
    for (let f = 0; f < 5; f++) writeFileSync(join(dir, 'services', `svc${s}`, `blob-${f}.bin`), randomBytes(1 << 20));
    yaml += `  svc${s}: {source: services/svc${s}, install: /srv/svc${s}}\n`;
  }
  writeFileSync(join(dir, 'bake.yaml'), yaml);
  mkdirSync(join(dir, 'recipes'));
  writeFileSync(
    join(dir, 'recipes', 'big.yaml'),
    `base: scratch\nservices: [${Array.from({ length: 10 }, (_, s) => `svc${s}`).join(', ')}]\n`,
  );
  writeFileSync(join(dir, '.gitignore'), '.bake/\n');
  sh('git init -q -b main && git add -A && git commit -qm init', { cwd: dir, env: gitEnv });
}

/** Bytes the registry stored under its data directory (its blobs are shared by repositories). */
function registryBytes(dir) {
  return Number(sh(`du -sb ${join(dir, 'data')} 2>/dev/null | cut -f1 || echo 0`).trim() || 0);
}

const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

export async function benchPush(report) {
  if (!hasDocker()) {
    report('push', [['push benchmark', 'SKIPPED: needs a Docker engine for the docker push comparison']]);
    return;
  }
  try {
    execFileSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' });
  } catch {
    report('push', [['push benchmark', 'SKIPPED: docker-registry is not installed (apt-get install -y docker-registry)']]);
    return;
  }
  await benchSmallPush(report);
  await benchLargePush(report);
}

/**
 * Issue 13: a 500 MB image (10 services × 50 MB, half text, half random) pushed uncompressed, with
 * --compress (first: compressing; again to a new repository: the cached twins), and by
 * `docker push` (which gzips on every push), in the same run; bytes sent and time.
 */
async function benchLargePush(report) {
  const tmp = tempDir('push-large');
  const registry = await startRegistry(tmp.dir);
  const loaded = [];
  try {
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    makeWorkspace(ws, { services: 10, bytes: 50e6, files: 10 });
    const built = JSON.parse(bake(['-C', ws, '--json', 'build', '--commit', '--load', 'big']).stdout).builds[0];
    loaded.push(built.load.tag);
    const push = (repo, extra = []) => {
      const run = bake(['-C', ws, '--json', 'push', ...extra, 'big', `${registry.address}/${repo}`]);
      return { seconds: run.seconds, result: JSON.parse(run.stdout) };
    };
    const plain = push('plain');
    const gzip1 = push('gzip1', ['--compress']);
    const gzip2 = push('gzip2', ['--compress']);
    const again = push('gzip2', ['--compress']);
    const dockerRef = `${registry.address}/docker:1`;
    execFileSync('/usr/bin/docker', ['tag', built.load.imageId, dockerRef]);
    loaded.push(dockerRef);
    const before = registryBytes(tmp.dir);
    const docker = timed('/usr/bin/docker', ['push', '-q', dockerRef]);
    const dockerBytes = registryBytes(tmp.dir) - before;
    const at100 = (bytes) => `${(bytes / 12.5e6).toFixed(1)} s at 100 Mbit/s`;
    report('push a 500 MB image to a local registry (10 services × 50 MB, half text, half random)', [
      ['bake push (uncompressed)', `${fmt(plain.seconds)}, ${mb(plain.result.bytes)} sent (${at100(plain.result.bytes)})`],
      ['bake push --compress, first (gzip -6)', `${fmt(gzip1.seconds)}, ${mb(gzip1.result.bytes)} sent (${at100(gzip1.result.bytes)})`],
      ['bake push --compress, cached twins, new repo', `${fmt(gzip2.seconds)}, ${mb(gzip2.result.bytes)} sent`],
      [
        'bake push --compress, same repo again',
        `${fmt(again.seconds)} (${again.result.uploaded} uploaded, ${again.result.skipped} skipped)`,
      ],
      ['docker push (gzips every push)', `${fmt(docker.seconds)}, ${mb(dockerBytes)} stored (${at100(dockerBytes)})`],
      [
        'speed-up: docker push / bake push',
        `${ratio(docker.seconds, plain.seconds)} uncompressed, ${ratio(docker.seconds, gzip2.seconds)} --compress cached`,
      ],
      [
        'pushed digests',
        `uncompressed = store digest: ${plain.result.digest === built.digest ? 'yes' : 'NO'}; --compress: ${gzip1.result.digest === gzip2.result.digest ? 'stable' : 'UNSTABLE'} ${gzip1.result.digest.slice(0, 19)}, store ${gzip1.result.storeDigest.slice(0, 19)}`,
      ],
    ]);
  } finally {
    if (loaded.length > 0) sh(`/usr/bin/docker rmi -f ${loaded.join(' ')} >/dev/null 2>&1 || true`);
    registry.stop();
    tmp.cleanup();
  }
}

/** Issue 4's benchmark: 10 × 5 MB, cold and with 9 of 10 service layers present. */
async function benchSmallPush(report) {
  const tmp = tempDir('push');
  const registry = await startRegistry(tmp.dir);
  const tag = `bake-bench-push-${process.pid}`;
  try {
    const ws = join(tmp.dir, 'ws');
    mkdirSync(ws);
    workspace(ws);
    const build1 = JSON.parse(bake(['-C', ws, '--json', 'build', '--commit', '--load', 'big']).stdout).builds[0];
    const bakeCold = bake(['-C', ws, '--json', 'push', 'big', `${registry.address}/bake-big`]);
    // docker push of the same image (loaded from our store) to its own repository, cold.
    execFileSync('/usr/bin/docker', ['tag', build1.load.imageId, `${registry.address}/docker-big:1`]);
    const dockerCold = timed('/usr/bin/docker', ['push', '-q', `${registry.address}/docker-big:1`]);

    appendFileSync(join(ws, 'services', 'svc7', 'blob-0.bin'), randomBytes(1024));
    sh('git commit -qam change', { cwd: ws, env: gitEnv });
    const build2 = JSON.parse(bake(['-C', ws, '--json', 'build', '--commit', '--load', 'big']).stdout).builds[0];
    const bakeWarm = bake(['-C', ws, '--json', 'push', 'big', `${registry.address}/bake-big`]);
    execFileSync('/usr/bin/docker', ['tag', build2.load.imageId, `${registry.address}/docker-big:2`]);
    const dockerWarm = timed('/usr/bin/docker', ['push', '-q', `${registry.address}/docker-big:2`]);
    const warm = JSON.parse(bakeWarm.stdout);
    report('push to a local registry (10 services × 5 MB)', [
      ['bake push cold', fmt(bakeCold.seconds)],
      ['docker push cold', fmt(dockerCold.seconds)],
      ['bake push, 9 of 10 service layers present', `${fmt(bakeWarm.seconds)} (${warm.uploaded} uploaded, ${warm.skipped} skipped)`],
      ['docker push, same', fmt(dockerWarm.seconds)],
      ['speed-up cold: docker / bake', ratio(dockerCold.seconds, bakeCold.seconds)],
      ['speed-up warm: docker / bake', ratio(dockerWarm.seconds, bakeWarm.seconds)],
      ['pushed digest equals the store digest', warm.digest === build2.digest ? 'yes' : 'NO'],
    ]);
    sh(
      `/usr/bin/docker rmi -f ${registry.address}/docker-big:1 ${registry.address}/docker-big:2 ${build1.load.tag} ${build2.load.tag} >/dev/null 2>&1 || true`,
    );
  } finally {
    registry.stop();
    tmp.cleanup();
    void tag;
  }
}
