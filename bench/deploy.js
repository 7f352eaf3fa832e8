// Issue 5's deploy benchmark, on the real engine: blue/green switch, rolling rollout time against
// replica count (against a plain `docker run` + health-wait loop doing the same replacements),
// and the router's overhead per request against a direct connection to an instance. Issue 12's:
// the blue/green flip-back time, the canary step time, and the router with counting on and off.
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../scripts/make-busybox-rootfs.js';
import { bake, bakeBin, fmt, gitEnv, hasDocker, percentile, root, sh, spawnAsync, tempDir } from './lib.js';

function get(port, path = '/version') {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          ms: Number(process.hrtime.bigint() - start) / 1e6,
          release: Number(res.headers['x-bake-release']),
          ok: res.statusCode === 200,
        }),
      );
    });
    req.on('error', () => resolve({ ms: 0, release: 0, ok: false }));
    req.end();
  });
}

async function latencies(port, count) {
  const out = [];
  for (let i = 0; i < count; i++) out.push((await get(port)).ms);
  return out;
}

/**
 * The naive peer: replace N containers with `docker run`, waiting for each to answer /healthz,
 * then `docker rm -f` the N it replaces (no router, no draining, no version checks).
 */
async function dockerLoop(image, replicas) {
  const old = [];
  for (let i = 0; i < replicas; i++) old.push(sh(`/usr/bin/docker run -d --label dev.bake.bench=1 ${image}`).trim());
  const start = performance.now();
  const ids = [];
  for (let i = 0; i < replicas; i++) {
    const id = sh(`/usr/bin/docker run -d --label dev.bake.bench=1 -p 127.0.0.1::8081 ${image}`).trim();
    ids.push(id);
    const port = Number(sh(`/usr/bin/docker port ${id} 8081/tcp`).trim().split(':').pop());
    for (let t = 0; t < 200; t++) {
      if ((await get(port, '/healthz')).ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  sh(`/usr/bin/docker rm -f ${old.join(' ')} >/dev/null`);
  const seconds = (performance.now() - start) / 1000;
  sh(`/usr/bin/docker rm -f ${ids.join(' ')} >/dev/null`);
  return seconds;
}

export async function benchDeploy(report) {
  if (!hasDocker()) {
    report('deploy', [['deploy benchmark', 'SKIPPED: needs a Docker engine (start dockerd)']]);
    return;
  }
  const tmp = tempDir('deploy');
  const ws = join(tmp.dir, 'shop');
  try {
    cpSync(join(root, 'fixtures', 'shop'), ws, { recursive: true, verbatimSymlinks: true });
    await makeBusyboxRootfs(join(ws, 'base', 'busybox'));
    sh('git init -q -b main && git add -A && git commit -qm shop', { cwd: ws, env: gitEnv });
    let n = 0;
    const bump = () => {
      appendFileSync(join(ws, 'services', 'catalog', 'VERSION'), `${++n}\n`);
      sh(`git commit -qam bump-${n}`, { cwd: ws, env: gitEnv });
      return JSON.parse(bake(['-C', ws, '--json', 'build', '--commit', '--load', 'shop']).stdout).builds[0];
    };
    const up = JSON.parse(bake(['-C', ws, '--json', 'up', 'dev']).stdout);
    const catalogPort = Number(new URL(up.router.catalog).port);

    // Blue/green: how long the deploy takes, and how long a client sees both releases.
    bump();
    const seen = [];
    let polling = true;
    const poller = (async () => {
      while (polling) seen.push({ at: performance.now(), ...(await get(catalogPort)) });
    })();
    const bgStart = performance.now();
    const bgRun = await spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'deploy', '--env', 'dev', '--strategy', 'blue-green']);
    const bg = { seconds: (performance.now() - bgStart) / 1000 };
    polling = false;
    await poller;
    const newRelease = JSON.parse(bgRun.stdout).release;
    const firstNew = seen.find((s) => s.release === newRelease)?.at ?? 0;
    const lastOld = [...seen].reverse().find((s) => s.ok && s.release !== newRelease)?.at ?? 0;
    const failed = seen.filter((s) => !s.ok).length;

    // Rollout time against replica count, and the naive docker loop for the same count.
    const rows = [];
    const yaml = readFileSync(join(ws, 'bake.yaml'), 'utf8');
    for (const replicas of [1, 2, 4]) {
      writeFileSync(
        join(ws, 'bake.yaml'),
        yaml.replace('    replicas: 2\n    strategy: rolling', `    replicas: ${replicas}\n    strategy: rolling`),
      );
      sh(`git commit -qam replicas-${replicas}`, { cwd: ws, env: gitEnv });
      bake(['-C', ws, 'deploy', '--env', 'dev', '--strategy', 'recreate']);
      const build = bump();
      const rolling = bake(['-C', ws, 'deploy', '--env', 'dev', '--strategy', 'rolling']).seconds;
      const peer = await dockerLoop(build.load.imageId, replicas);
      rows.push([
        `rolling upgrade, ${replicas} replica(s)`,
        `${fmt(rolling)} (docker run + health + rm -f loop: ${fmt(peer)}, ${(rolling / peer).toFixed(2)}×)`,
      ]);
    }

    // Router overhead: the same GET through the router and straight to an instance.
    const state = JSON.parse(readFileSync(join(ws, '.bake', 'envs', 'dev', 'router.json'), 'utf8'));
    const instance = await new Promise((resolve) => {
      request({ host: '127.0.0.1', port: state.control, path: '/state' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body).instances[0]));
      }).end();
    });
    await latencies(catalogPort, 100);
    const direct = await latencies(instance.ports.catalog, 1000);
    const routed = await latencies(catalogPort, 1000);
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

    // Counting on against off: two in-process routers in front of the same instance.
    const { startRouter } = await import('../dist/router/router.js');
    const counted = {};
    for (const counting of [true, false]) {
      const r = await startRouter({ catalog: 0 }, { counting });
      r.add({ id: 'bench', release: 1, vector: { catalog: 1 }, ports: { catalog: instance.ports.catalog }, health: {} });
      await latencies(r.listeners.catalog, 100);
      counted[counting ? 'on' : 'off'] = await latencies(r.listeners.catalog, 2000);
      await r.close();
    }

    // Blue/green flip-back: a rollback during probation, under a poller.
    const flipYaml = readFileSync(join(ws, 'bake.yaml'), 'utf8');
    writeFileSync(join(ws, 'bake.yaml'), flipYaml.replace('    strategy: rolling', '    strategy: rolling\n    probation: 120'));
    sh('git commit -qam probation', { cwd: ws, env: gitEnv });
    bump();
    bake(['-C', ws, 'deploy', '--env', 'dev', '--strategy', 'blue-green']);
    const flipSeen = [];
    let flipping = true;
    const flipPoller = (async () => {
      while (flipping) flipSeen.push({ at: performance.now(), ...(await get(catalogPort)) });
    })();
    const flipStart = performance.now();
    const flip = await spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'rollback', '--env', 'dev']);
    const flipSeconds = (performance.now() - flipStart) / 1000;
    flipping = false;
    await flipPoller;
    const flipJson = JSON.parse(flip.stdout);
    const lastNewAt = [...flipSeen].reverse().find((x) => x.release === flipJson.from)?.at ?? flipStart;
    const flipFailed = flipSeen.filter((x) => !x.ok).length;
    writeFileSync(join(ws, 'bake.yaml'), flipYaml);
    sh('git commit -qam no-probation', { cwd: ws, env: gitEnv });

    // Canary step time: three 1 s steps, judged from the router's counts, under a poller.
    writeFileSync(
      join(ws, 'bake.yaml'),
      flipYaml.replace(
        '    strategy: rolling',
        '    strategy: rolling\n    canary: {steps: [{percent: 20, pause: 1}, {percent: 50, pause: 1}, {percent: 80, pause: 1}], analysis: {minRequests: 5}}',
      ),
    );
    sh('git commit -qam canary-steps', { cwd: ws, env: gitEnv });
    bump();
    let canarying = true;
    const canaryPoller = (async () => {
      while (canarying) await get(catalogPort);
    })();
    const canaryRun = bake(['-C', ws, '--json', 'deploy', '--env', 'dev', '--strategy', 'canary']);
    canarying = false;
    await canaryPoller;
    const canaryJson = JSON.parse(canaryRun.stdout);
    const canaryState =
      canaryJson.state === 'committed' ? 'committed' : `${canaryJson.state} (${canaryJson.rollout?.paused?.message ?? 'paused'})`;

    report('deploy on the local engine (shop, 3 services per instance)', [
      ['blue/green deploy, 2 replicas', `${fmt(bg.seconds)}; ${failed} failed of ${seen.length} requests`],
      ['blue/green: window where a client saw both releases', `${Math.max(0, lastOld - firstNew).toFixed(1)} ms`],
      ...rows,
      ['GET direct to an instance (mean / p99)', `${mean(direct).toFixed(2)} ms / ${percentile(direct, 99).toFixed(2)} ms`],
      ['GET through the router (mean / p99)', `${mean(routed).toFixed(2)} ms / ${percentile(routed, 99).toFixed(2)} ms`],
      ['router overhead per request', `${(mean(routed) - mean(direct)).toFixed(2)} ms (${(mean(routed) / mean(direct)).toFixed(2)}×)`],
      [
        'router with counting on / off (mean, p99)',
        `${mean(counted.on).toFixed(2)} / ${mean(counted.off).toFixed(2)} ms, p99 ${percentile(counted.on, 99).toFixed(2)} / ${percentile(counted.off, 99).toFixed(2)} ms (counting costs ${(mean(counted.on) - mean(counted.off)).toFixed(3)} ms)`,
      ],
      [
        'blue/green flip-back (rollback during probation)',
        `traffic back in ${flipJson.switchedMs} ms after the lock (last new-release response ${(lastNewAt - flipStart).toFixed(0)} ms after the command started); command ${fmt(flipSeconds)}; ${flipFailed} failed of ${flipSeen.length}`,
      ],
      [
        'canary, 3 steps of 1 s pause each',
        canaryJson.state === 'committed'
          ? `${fmt(canaryRun.seconds)} to committed (${((canaryRun.seconds - 3) / 3).toFixed(2)} s per step beyond its pause, promote included)`
          : `${fmt(canaryRun.seconds)}, stopped: ${canaryState}`,
      ],
    ]);
  } finally {
    try {
      bake(['-C', ws, 'down', 'dev']);
    } catch {
      // nothing was up
    }
    sh('/usr/bin/docker ps -aq --filter label=dev.bake.bench=1 | xargs -r /usr/bin/docker rm -f >/dev/null 2>&1 || true');
    tmp.cleanup();
  }
}
