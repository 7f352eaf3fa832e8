// Issue 5's deploy benchmark, on the real engine: blue/green switch, rolling rollout time against
// replica count (against a plain `docker run` + health-wait loop doing the same replacements),
// and the router's overhead per request against a direct connection to an instance. Issue 12's:
// the blue/green flip-back time, the canary step time, and the router with counting on and off.
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
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

/** The canary ramp the benchmark deploys: these shares, each step pausing CANARY_PAUSE seconds. */
const CANARY_STEPS = [20, 50, 80];
const CANARY_PAUSE = 1;

/**
 * Bounded load on 127.0.0.1: `clients` back-to-back GETs until stopped (or 2 minutes or 100 000
 * requests, whichever comes first), counting what each release served and what failed.
 */
function loadWhile(port, clients) {
  const served = { ok: 0, failed: 0, releases: [] };
  const until = Date.now() + 120_000;
  let running = true;
  const client = async () => {
    while (running && Date.now() < until && served.ok + served.failed < 100_000) {
      const r = await get(port);
      if (r.ok) {
        served.ok++;
        served.releases.push(r.release);
      } else served.failed++;
    }
  };
  const all = Array.from({ length: clients }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      return served;
    },
  };
}

/** Runs a child process to completion, resolving with its output and each stderr line stamped with when it arrived. */
function spawnStamped(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let partial = '';
    const lines = [];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ at: performance.now(), text });
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, lines }));
  });
}

/** The promote's phases from the deploy's step log (BAKE_DEBUG=deploy: a line as each step begins): new fleet, old retired. */
function promoteTimes(lines, release) {
  const allTraffic = lines.findIndex((l) => l.text.includes(`all traffic to release ${release}`));
  const done = lines.findLastIndex((l) => l.text.includes('route to every instance'));
  if (allTraffic < 0 || done < allTraffic) return undefined;
  // The first start of the release is the canary's own instance; the others are the promote's.
  const starts = lines
    .slice(0, allTraffic)
    .filter((l) => l.text.includes(`start an instance of release ${release}`))
    .slice(1);
  const retired = lines.slice(allTraffic, done).filter((l) => l.text.includes('retire instance')).length;
  return {
    started: starts.length,
    starting: starts.length === 0 ? 0 : (lines[allTraffic].at - starts[0].at) / 1000,
    retired,
    retiring: (lines[done].at - lines[allTraffic].at) / 1000,
  };
}

/**
 * Each canary step's time (its "canary step i/n" record to the next step's, the last one's to its
 * "passed" record: the pause, the judging, the records and the next share), their mean overhead
 * beyond the pause, the promote, and the whole ramp, from the manifest's own timestamps.
 */
function rampTimes(ws, release) {
  const events = JSON.parse(bake(['-C', ws, '--json', 'log', '--env', 'dev', '--limit', '1000']).stdout).events.filter(
    (e) => e.kind === 'change' && e.detail.release === release,
  );
  const at = (re) => Date.parse(events.find((e) => re.test(e.summary))?.at ?? 'NaN');
  const begun = CANARY_STEPS.map((_, i) => at(new RegExp(`canary step ${i + 1}/`)));
  const lastPassed = at(new RegExp(`canary step ${CANARY_STEPS.length} passed`));
  const steps = begun.map((t, i) => ((begun[i + 1] ?? lastPassed) - t) / 1000);
  const first = begun[0];
  const committed = at(/→ committed/);
  const overheadMs = (steps.reduce((a, b) => a + b, 0) / steps.length - CANARY_PAUSE) * 1000;
  return { steps, overheadMs, promote: (committed - lastPassed) / 1000, total: (committed - first) / 1000 };
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

    // Canary step time: three 1 s steps, judged from the router's counts. The deploy runs as a
    // child process so the clients below keep loading the router meanwhile (a synchronous run
    // would block them, leaving every step with no canary requests: inconclusive, paused).
    writeFileSync(
      join(ws, 'bake.yaml'),
      flipYaml.replace(
        '    strategy: rolling',
        `    strategy: rolling\n    canary: {steps: [${CANARY_STEPS.map((p) => `{percent: ${p}, pause: ${CANARY_PAUSE}}`).join(', ')}], analysis: {minRequests: 20}}`,
      ),
    );
    sh('git commit -qam canary-steps', { cwd: ws, env: gitEnv });
    bump();
    const canaryLoad = loadWhile(catalogPort, 4);
    const canaryStart = performance.now();
    const canaryArgs = [bakeBin, '-C', ws, '--json', 'deploy', '--env', 'dev', '--strategy', 'canary'];
    const canaryRun = await spawnStamped(process.execPath, canaryArgs, { env: { ...process.env, BAKE_DEBUG: 'deploy' } });
    const canarySeconds = (performance.now() - canaryStart) / 1000;
    const canaryServed = await canaryLoad.stop();
    const canaryJson = JSON.parse(canaryRun.stdout || '{}');
    const canaryState = canaryJson.error
      ? `failed: ${canaryJson.error.message}`
      : `${canaryJson.state} (${canaryJson.rollout?.paused?.message ?? 'paused'})`;
    const ramp = canaryJson.state === 'committed' ? rampTimes(ws, canaryJson.release) : undefined;
    const promote = canaryJson.state === 'committed' ? promoteTimes(canaryRun.lines, canaryJson.release) : undefined;
    const onCanary = canaryServed.releases.filter((r) => r === canaryJson.release).length;

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
        `canary load (4 clients on ${CANARY_STEPS.length} steps of ${CANARY_PAUSE} s)`,
        `${canaryServed.ok} ok, ${canaryServed.failed} failed; ${onCanary} served by the canary release`,
      ],
      ...(ramp
        ? [
            [
              `canary step time (pause ${CANARY_PAUSE} s)`,
              `${ramp.steps.map((t, i) => `step ${i + 1} (${CANARY_STEPS[i]}%) ${fmt(t)}`).join(', ')}; ${ramp.overheadMs.toFixed(0)} ms per step beyond its pause (new share, count reset, judge, records)`,
            ],
            [
              `canary ramp ${CANARY_STEPS.map((p) => `${p}%`).join(' → ')} → promote`,
              `${fmt(ramp.total)} from the first step to committed: steps ${fmt(ramp.steps.reduce((a, b) => a + b, 0))}, promote ${fmt(ramp.promote)}; whole command ${fmt(canarySeconds)}`,
            ],
            ...(promote
              ? [
                  [
                    'canary promote, broken down',
                    `${promote.started} instance(s) started in ${fmt(promote.starting)}, ${promote.retired} retired in ${fmt(promote.retiring)} (under the same load)`,
                  ],
                ]
              : []),
          ]
        : [['canary step time', `${fmt(canarySeconds)}, stopped: ${canaryState}`]]),
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
