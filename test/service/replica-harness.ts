import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { BAKE_BIN } from '../helpers/bake-cli.js';
import { freePort } from '../helpers/registry.js';
import { tempDir } from '../helpers/repo.js';

/** The write token every replica of these tests accepts. */
export const TOKEN = 'replica-token-'.padEnd(32, 'x');

/** One `bake serve` process: its own working directory, the shared store and registry from `env`. */
export interface ReplicaProcess {
  dir: string;
  /** The port it was started with (`--port`; with `--listen` in the arguments, read `url`). */
  port: number;
  url: string;
  pid: number;
  /** What it wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** Kills it (SIGKILL by default) and resolves once it is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (after a kill). */
  restart(): Promise<void>;
}

/** Whether a replica can be started in a PID namespace of its own (root, and util-linux unshare). */
export const canIsolate =
  process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;

/**
 * Starts `bake -C dir serve --tokens … --port PORT …args` as its own process with `env` added to
 * this one's, and resolves once it printed its URL. With `isolate` (see canIsolate) it runs in a
 * PID namespace of its own, under `unshare --pid --fork`: to the other replicas it is then a process
 * of another machine, whose death they can only learn from its heartbeat stopping.
 */
export async function startReplicaProcess(
  dir: string,
  env: Record<string, string>,
  options: { args?: string[]; isolate?: boolean } = {},
): Promise<ReplicaProcess> {
  const args = options.args ?? [];
  await writeFile(join(dir, '.tokens'), `write ${TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  let child: ChildProcess;
  let errors = '';
  let url = '';
  const start = async () => {
    const where = args.includes('--listen') ? [] : ['--port', String(port)];
    const command = [process.execPath, BAKE_BIN, '-C', dir, 'serve', '--tokens', join(dir, '.tokens'), ...where, ...args];
    const [file, ...rest] = options.isolate ? ['unshare', '--pid', '--fork', '--kill-child', ...command] : command;
    child = spawn(file as string, rest, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stderr?.on('data', (d) => (errors += String(d)));
    url = await new Promise<string>((resolve, reject) => {
      child.stdout?.once('data', (d) => resolve(JSON.parse(String(d)).url as string));
      child.once('exit', (code) => reject(new Error(`bake serve exited ${code}: ${errors}`)));
    });
  };
  await start();
  return {
    dir,
    port,
    get url() {
      return url;
    },
    get pid() {
      return (options.isolate ? childOf(child.pid ?? 0) : child.pid) ?? 0;
    },
    stderr: () => errors,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      // Under unshare the service is unshare's child (PID 1 of its namespace): that is the process to kill.
      const target = options.isolate ? childOf(child.pid ?? 0) : child.pid;
      if (target !== undefined) process.kill(target, signal);
      await gone;
    },
    restart: start,
  };
}

/** The requests a replica is running now (GET /v1/queue): `[{command, argv, state}]`. */
export async function queueOf(replica: ReplicaProcess): Promise<{ command: string; argv: string[]; state: string }[]> {
  const answer = await fetch(`${replica.url}/v1/queue`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await answer.json()) as { running: { command: string; argv: string[]; state: string }[] }).running;
}

/** Polls until `check` holds (every 50 ms, up to `ms`); throws with `what` when it never does. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A PostgreSQL cluster of this test's own (scripts/test-postgres.sh on a free port with its own
 * data directory), so it can be restarted without disturbing other tests' databases.
 */
export async function privatePostgres(): Promise<{ url: string; restart(): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  const data = await tempDir('pg');
  // As root the cluster belongs to the postgres user, who must reach its data directory.
  await chmod(data.dir, 0o755);
  const dir = join(data.dir, 'data');
  const script = join(__dirname, '..', '..', 'scripts', 'test-postgres.sh');
  const started = await execa('sh', [script], { env: { BAKE_TEST_PG_PORT: String(port), BAKE_TEST_PG_DATA: dir }, reject: false });
  if (started.exitCode !== 0) throw new Error(`the private PostgreSQL did not start: ${started.stderr}`);
  const bin = (await execa('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'])).stdout.trim();
  const asOwner = (args: string[]) =>
    process.getuid?.() === 0 ? execa('runuser', ['-u', 'postgres', '--', ...args]) : execa(args[0] as string, args.slice(1));
  const ctl = (...args: string[]) => asOwner([join(bin, 'pg_ctl'), '-D', dir, ...args]);
  return {
    url: started.stdout.trim(),
    async restart() {
      // restart keeps the options it was started with (postmaster.opts); -l keeps its output off our pipes.
      await ctl('restart', '-m', 'fast', '-w', '-t', '60', '-l', join(dir, 'server.log'));
    },
    async stop() {
      await ctl('stop', '-m', 'immediate', '-w').catch(() => undefined);
      await data.cleanup();
    },
  };
}

/** The first child of a process (Linux: /proc/PID/task/PID/children). */
function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}
