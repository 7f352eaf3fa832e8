import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The test swarm's manager (a DOCKER_HOST value), its registry (HOST:PORT) and node names. */
export interface TestSwarm {
  host: string;
  registry: string;
  nodes: string[];
}

const script = fileURLToPath(new URL('../../scripts/test-swarm.sh', import.meta.url));

/**
 * Brings up the multi-node test swarm (scripts/test-swarm.sh up: idempotent, so every test file
 * and .ci/run may ask) and returns where it answers. Throws with the script's output when it fails.
 */
export function testSwarm(): TestSwarm {
  const run = spawnSync('sh', [script, 'up'], { encoding: 'utf8', timeout: 180_000 });
  if (run.status !== 0) throw new Error(`scripts/test-swarm.sh up failed (${run.status}):\n${run.stderr}${run.stdout}`);
  const vars = Object.fromEntries(
    run.stdout
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return {
    host: vars['BAKE_TEST_SWARM_HOST'] ?? '',
    registry: vars['BAKE_TEST_SWARM_REGISTRY'] ?? '',
    nodes: (vars['BAKE_TEST_SWARM_NODES'] ?? '').split(' ').filter(Boolean),
  };
}

/** Runs a command inside one test node's network namespace (to cut its way to the registry, say). */
export function inNode(node: string, ...command: string[]): void {
  const run = spawnSync('ip', ['netns', 'exec', node, ...command], { encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`ip netns exec ${node} ${command.join(' ')}: ${run.stderr}`);
}

/** Node `n` loses power (scripts/test-swarm.sh kill: SIGKILL its dockerd, then its containers). */
export function killNode(n: number): void {
  const run = spawnSync('sh', [script, 'kill', String(n)], { encoding: 'utf8', timeout: 30_000 });
  if (run.status !== 0) throw new Error(`scripts/test-swarm.sh kill ${n} failed (${run.status}):\n${run.stderr}`);
}

/** Starts every node whose dockerd is gone again and waits until all are Ready (scripts/test-swarm.sh heal). */
export function healSwarm(): void {
  const run = spawnSync('sh', [script, 'heal'], { encoding: 'utf8', timeout: 180_000 });
  if (run.status !== 0) throw new Error(`scripts/test-swarm.sh heal failed (${run.status}):\n${run.stderr}`);
}

const lockDir = '/tmp/bake-swarm-tests.lock';

/**
 * The test swarm for one test file at a time (files run in parallel, and one kills a node): waits
 * for a lock directory, reclaiming it from a holder that died. Returns the release.
 */
export async function exclusiveSwarm(timeoutMs = 900_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(`${lockDir}/pid`, String(process.pid));
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch {
      const holder = lockHolder();
      if (holder > 0 && !alive(holder)) rmSync(lockDir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`the test swarm stayed held by PID ${holder} for ${timeoutMs} ms (${lockDir})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function lockHolder(): number {
  try {
    return Number(readFileSync(`${lockDir}/pid`, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
