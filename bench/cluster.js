// Issue 15's cluster benchmark, on the three-node test swarm (scripts/test-swarm.sh): a rolling
// upgrade of 6 replicas spread over the zones, 2 at a time, start-first, health-gated, under the
// same bounded load through the router on 127.0.0.1 — once by bake (`bake deploy --strategy
// rolling`: the gate, the push by digest, the engine's update, the router following the tasks),
// once by `docker service update` alone with the same parallelism, order and health check (the
// service's own spec), behind the same router left as it was (a balancer that does not follow).
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { makeBusyboxRootfs } from '../scripts/make-busybox-rootfs.js';
import { bake, bakeBin, fmt, gitEnv, root, sh, spawnAsync, tempDir } from './lib.js';

const REPLICAS = 6;
const BATCH = 2;
const CLIENTS = 4;

function get(port) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/version', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** `CLIENTS` back-to-back GETs until stopped: how many succeeded and failed. */
function load(port) {
  const served = { ok: 0, failed: 0 };
  let running = true;
  const client = async () => {
    while (running) (await get(port)) ? served.ok++ : served.failed++;
  };
  const all = Array.from({ length: CLIENTS }, client);
  return {
    async stop() {
      running = false;
      await Promise.all(all);
      return served;
    },
  };
}

function swarmEnv() {
  const out = sh(`sh ${join(root, 'scripts', 'test-swarm.sh')} up`, { timeout: 300_000 });
  return Object.fromEntries(
    out
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/** bake's scope label of a workspace (as src/app/environment-runtime.ts computes it). */
const scopeOf = (dir) => createHash('sha256').update(dir).digest('hex').slice(0, 12);

export async function benchCluster(report) {
  let cluster;
  try {
    cluster = swarmEnv();
  } catch (error) {
    report('cluster: rolling upgrade on a 3-node swarm', [
      ['skipped', `no test swarm (${String(error.message).split('\n')[0]}; needs root)`],
    ]);
    return;
  }
  const host = cluster.BAKE_TEST_SWARM_HOST;
  const registry = cluster.BAKE_TEST_SWARM_REGISTRY;
  const docker = `/usr/bin/docker -H ${host}`;
  const tmp = tempDir('cluster');
  const ws = join(tmp.dir, 'shop');
  const env = { ...process.env, BAKE_REGISTRY_INSECURE: registry, BAKE_HEALTH_TIMEOUT_MS: '60000' };
  const repo = `${registry}/bake-bench-cluster`;
  try {
    cpSync(join(root, 'fixtures', 'shop'), ws, { recursive: true, verbatimSymlinks: true });
    await makeBusyboxRootfs(join(ws, 'base', 'busybox'));
    const yaml = readFileSync(join(ws, 'bake.yaml'), 'utf8');
    const prod = [
      '  prod:',
      '    image: shop',
      `    replicas: ${REPLICAS}`,
      `    batch: ${BATCH}`,
      '    spread: zone',
      `    engine: {swarm: {host: '${host}', registry: ${repo}}}`,
      '',
    ].join('\n');
    // The fixture's environments give way to prod on the swarm (the services stay, below them).
    const from = yaml.indexOf('environments:');
    const end = yaml.indexOf('\n# The services');
    writeFileSync(join(ws, 'bake.yaml'), `${yaml.slice(0, from)}environments:\n${prod}${yaml.slice(end)}`);
    sh('git init -q -b main && git add -A && git commit -qm shop', { cwd: ws, env: gitEnv });
    let n = 0;
    const bump = () => {
      appendFileSync(join(ws, 'services', 'catalog', 'VERSION'), `${++n}\n`);
      sh(`git commit -qam bump-${n}`, { cwd: ws, env: gitEnv });
      return JSON.parse(bake(['-C', ws, '--json', 'build', '--commit', 'shop'], { env }).stdout).builds[0];
    };
    // Child processes run asynchronously: the load's clients keep going in this process meanwhile.
    const deploy = async () => {
      const start = performance.now();
      const run = await spawnAsync(process.execPath, [bakeBin, '-C', ws, '--json', 'deploy', '--env', 'prod', '--strategy', 'rolling'], {
        env,
      });
      if (run.code !== 0) throw new Error(`bake deploy failed (${run.code}): ${run.stdout}${run.stderr}`);
      return { seconds: (performance.now() - start) / 1000, json: JSON.parse(run.stdout) };
    };
    bump();
    const first = (await deploy()).json;
    const port = Number(new URL(first.router.catalog).port);

    // bake: the gate, the push, the engine's update, the router following the tasks.
    bump();
    let traffic = load(port);
    const byBake = await deploy();
    const bakeServed = await traffic.stop();

    // The peer: the engine's update alone, same spec (parallelism, start-first, health check), new image by digest.
    const next = bump();
    const pushed = JSON.parse(bake(['-C', ws, '--json', 'push', 'shop', repo, '--build', String(next.build)], { env }).stdout);
    const service = first.placement
      ? sh(`${docker} service ls --format '{{.Name}}' --filter label=dev.bake.scope=${scopeOf(ws)}`).trim()
      : '';
    traffic = load(port);
    const start = performance.now();
    // The same health check, naming the new version (bake's pins the version each task must answer with).
    const test = JSON.parse(sh(`${docker} service inspect -f '{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}' ${service}`));
    const check = test.at(-1).replaceAll(`*" ${byBake.json.vector.catalog} "*`, `*" ${next.vector.catalog} "*`);
    const args = ['service', 'update', '--quiet', '--image', pushed.reference, '--health-cmd', check];
    args.push('--update-parallelism', String(BATCH), '--update-order', 'start-first', service);
    const update = await spawnAsync('/usr/bin/docker', ['-H', host, ...args]);
    if (update.code !== 0) throw new Error(`docker service update failed: ${update.stderr}`);
    const images = sh(`${docker} service ps ${service} --filter desired-state=running --no-trunc --format '{{.Image}}'`).trim().split('\n');
    if (images.length < REPLICAS || images.some((image) => image !== pushed.reference)) {
      throw new Error(`docker service update did not converge on ${pushed.reference}: ${images.join(', ')}`);
    }
    const peerSeconds = (performance.now() - start) / 1000;
    const peerServed = await traffic.stop();
    report(`cluster: rolling upgrade of ${REPLICAS} replicas on 3 nodes, ${BATCH} at a time, ${CLIENTS} clients through the router`, [
      ['bake deploy --strategy rolling', `${fmt(byBake.seconds)}  ${bakeServed.ok} ok, ${bakeServed.failed} failed`],
      ['docker service update (alone)', `${fmt(peerSeconds)}  ${peerServed.ok} ok, ${peerServed.failed} failed`],
      ['bake adds', `${fmt(byBake.seconds - peerSeconds)} (gate, push by digest, records, bake's own health checks)`],
    ]);
  } finally {
    // This workspace's services only (its scope label), as bake down removes them.
    sh(`${docker} service ls -q --filter label=dev.bake.scope=${scopeOf(ws)} | xargs -r ${docker} service rm >/dev/null; true`);
    bake(['-C', ws, 'down', 'prod'], { env });
    tmp.cleanup();
  }
}
