import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, relative } from 'node:path';

/** Debian packages that provide each tool, for the message that says how to get it. */
const PACKAGES: Record<string, string> = {
  docker: 'docker.io',
  busybox: 'busybox-static',
  'docker-registry': 'docker-registry',
  git: 'git',
  skopeo: 'skopeo',
  umoci: 'umoci',
  openssl: 'openssl',
  postgres: 'postgresql',
  swarm: 'docker.io docker-registry iproute2 busybox-static',
};

/** Requirements that are more than a program on PATH, as the message names them. */
const WHAT: Record<string, string> = {
  docker: 'docker (a running engine)',
  postgres: 'postgres (a PostgreSQL answering at BAKE_TEST_DATABASE_URL)',
  swarm: 'swarm (root, ip netns, dockerd and docker-registry, for scripts/test-swarm.sh)',
};

const known = new Map<string, boolean>();

/**
 * Decides whether an integration test file can run: every named tool must be present ('docker'
 * means an engine answers, not just a client; 'postgres' that BAKE_TEST_DATABASE_URL answers). With CI=true a missing tool THROWS, so the file
 * fails instead of skipping; elsewhere it warns loudly and returns `{ skip: true, reason }`.
 * Use as `const tools = requireTools('git', 'skopeo'); describe.skipIf(tools.skip)(…)`.
 */
export function requireTools(...names: string[]): { skip: boolean; reason?: string } {
  const missing = names.filter((name) => !available(name));
  if (missing.length === 0) return { skip: false };
  const packages = [...new Set(missing.map((name) => PACKAGES[name] ?? name))];
  const reason =
    `missing ${missing.map((name) => WHAT[name] ?? name).join(', ')}` +
    ` — apt-get install -y ${packages.join(' ')}${missing.includes('docker') ? ', then start dockerd (see .ci/run)' : ''}` +
    `${missing.includes('postgres') ? ', then start the test cluster: export BAKE_TEST_DATABASE_URL=$(sh scripts/test-postgres.sh)' : ''}`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${callerFile()} cannot run: ${reason}`);
  console.warn(`\n*** SKIPPING ${callerFile()}: ${reason} ***\n`);
  return { skip: true, reason };
}

function available(name: string): boolean {
  let ok = known.get(name);
  if (ok === undefined) {
    ok = probe(name);
    known.set(name, ok);
  }
  return ok;
}

function probe(name: string): boolean {
  switch (name) {
    case 'docker':
      return dockerAnswers();
    case 'postgres':
      return postgresAnswers();
    case 'swarm':
      // scripts/test-swarm.sh builds the nodes: it needs root for namespaces, veths and the bridge.
      return (
        process.getuid?.() === 0 && ['ip', 'dockerd', 'docker-registry', 'busybox', 'unshare'].every((tool) => onPath(tool) !== undefined)
      );
    case 'busybox':
      // Images need the host's busybox at a fixed path (scripts/make-busybox-rootfs.js copies it).
      return ['/bin/busybox', '/usr/bin/busybox'].some(isExecutable);
    default:
      return onPath(name) !== undefined;
  }
}

/** The engine answers: `docker info` through Debian's client, else a ping of DOCKER_HOST or the default socket. */
function dockerAnswers(): boolean {
  const client = isExecutable('/usr/bin/docker') ? '/usr/bin/docker' : undefined;
  if (client) return spawnSync(client, ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  const host = process.env['DOCKER_HOST'] ?? 'unix:///var/run/docker.sock';
  // A synchronous HTTP ping needs a child process; node is the one thing certainly present.
  const ping = `
    const http = require('node:http');
    const host = process.argv[1];
    const target = host.startsWith('unix://') ? { socketPath: host.slice(7) } : (() => { const u = new URL(host.replace(/^tcp:/, 'http:')); return { host: u.hostname, port: u.port }; })();
    http.get({ ...target, path: '/_ping', timeout: 10000 }, (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1)).on('timeout', () => process.exit(1));`;
  return spawnSync(process.execPath, ['-e', ping, host], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

/** BAKE_TEST_DATABASE_URL is set and a query through Debian's psql answers there. */
function postgresAnswers(): boolean {
  const url = process.env['BAKE_TEST_DATABASE_URL'];
  const psql = onPath('psql');
  if (!url || !psql) return false;
  return spawnSync(psql, [url, '-Atqc', 'select 1'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The test file that asked, for the message; falls back to a generic name. */
function callerFile(): string {
  const match = new Error().stack
    ?.split('\n')
    .map((line) => /(?:file:\/\/)?(\/[^\s():]+\.test\.[cm]?[jt]s)/.exec(line)?.[1])
    .find(Boolean);
  return match ? relative(process.cwd(), match) : 'integration tests';
}
