import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAKE_LAUNCHER } from '../helpers/bake-cli.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// The per-user build daemon (bin/daemon-client.js, bin/daemon-client.c, src/cli/daemon-server.ts),
// driven through bin/bake as a developer runs it, once with each client (the native one bin/bake
// runs when `npm run build` compiled it, and Node's, BAKE_CLIENT=node): the second command runs in
// the daemon the first one started, and answers exactly as a local run does; another environment
// gets another daemon; a signal to the command stops it as it would stop a local run. Each suite's
// daemons live in a runtime directory of its own and are killed by the PIDs they wrote there.

const tools = requireTools('git', 'busybox');
const LAUNCHER = BAKE_LAUNCHER;
const HOLDER = fileURLToPath(new URL('../race/store-holder.mjs', import.meta.url));
const NATIVE = fileURLToPath(new URL('../../dist/bake-client', import.meta.url));
// The native client is built by `npm run build` wherever a C compiler is; CI has one, so there it must exist.
const native = existsSync(NATIVE);
if (process.env.CI === 'true' && !native) throw new Error(`${NATIVE} was not built: npm run build compiles bin/daemon-client.c (needs cc)`);
const CLIENTS = [
  { client: 'native', env: {}, skip: !native },
  { client: 'node', env: { BAKE_CLIENT: 'node' }, skip: false },
];

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

describe.each(CLIENTS)('the build daemon, through the $client client', ({ client, env: clientEnv, skip }) => {
  if (tools.skip || skip) return void it.skip('needs git, busybox and the client');
  let repo: Repo;
  let runtime: string;
  let env: Record<string, string>;

  async function run(args: string[], extra: Record<string, string> = {}): Promise<Run> {
    const r = await execa(LAUNCHER, args, { env: { ...env, ...extra }, reject: false, stdin: 'ignore' });
    const signal = r.signal ? constants.signals[r.signal] : undefined;
    return { exitCode: r.exitCode ?? 128 + (signal ?? 0), stdout: r.stdout, stderr: r.stderr };
  }
  const inDaemon = (r: Run) => /bake:daemon running in daemon PID (\d+)/.exec(r.stderr)?.[1];

  async function daemonPids(): Promise<number[]> {
    const names = (await readdir(join(runtime, 'bake')).catch(() => [] as string[])).filter((n) => n.endsWith('.pid'));
    return Promise.all(names.map(async (n) => Number((await readFile(join(runtime, 'bake', n), 'utf8')).trim())));
  }
  /** Waits until `count` daemons have written their PID files (each starts after the command that found none). */
  async function daemonsUp(count: number): Promise<number[]> {
    for (let i = 0; i < 100; i++) {
      const pids = await daemonPids();
      if (pids.length >= count) return pids;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`fewer than ${count} daemons started`);
  }
  /** Whether `pid` runs (a zombie no one has reaped yet, as in a container without an init, does not). */
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    repo = await shopRepo();
    runtime = await mkdtemp(join(tmpdir(), 'bake-daemon-test-'));
    await chmod(runtime, 0o700);
    env = { BAKE_DAEMON: '1', XDG_RUNTIME_DIR: runtime, BAKE_DAEMON_IDLE_MS: '60000', BAKE_DEBUG: 'daemon', ...clientEnv };
  });
  /** The daemons of this test: processes whose command line names its runtime directory. */
  async function ours(): Promise<number[]> {
    const pids = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
    const named = await Promise.all(pids.map((p) => readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '')));
    return pids.filter((_, i) => named[i]?.includes(runtime)).map(Number);
  }
  afterAll(async () => {
    // A command that found no daemon starts one as it ends: give the last one a moment to appear.
    await new Promise((r) => setTimeout(r, 500));
    for (const pid of await ours()) process.kill(pid, 'SIGKILL');
    await rm(runtime, { recursive: true, force: true });
    await repo?.cleanup();
  });

  it('runs the next command in the daemon the first one started, with the answer of a local run', async () => {
    const first = await run(['-C', repo.dir, '--json', 'commit', '--all']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(inDaemon(first)).toBeUndefined();
    const [pid] = await daemonsUp(1);

    const built = await run(['-C', repo.dir, '--json', 'build', 'shop']);
    expect(built.exitCode, built.stderr).toBe(0);
    expect(Number(inDaemon(built))).toBe(pid);
    // This suite's client sent it: the native one found the daemon Node's started, by the same name.
    expect(built.stderr).toContain(`(${client} client)`);
    const local = await run(['-C', repo.dir, '--json', 'build', 'shop'], { BAKE_DAEMON: '0' });
    expect(inDaemon(local)).toBeUndefined();
    // The same build, found unchanged the second time: the same document either way.
    expect(JSON.parse(local.stdout).builds[0].digest).toBe(JSON.parse(built.stdout).builds[0].digest);

    // The caller's directory: a relative -C resolves against it, not the daemon's.
    const relative = await execa(LAUNCHER, ['-C', '.', '--json', 'status'], { cwd: repo.dir, env, reject: false });
    expect(relative.exitCode, relative.stderr).toBe(0);
    expect(Number(inDaemon({ ...relative, exitCode: 0 } as Run))).toBe(pid);
    expect(JSON.parse(relative.stdout).generation).toBeGreaterThan(0);
  });

  it('gives errors and exit codes exactly as a local run does', async () => {
    await daemonsUp(1);
    // Text beyond ASCII, and a quote, come back byte for byte.
    const image = 'no-such-image-ünï-😀-"q"';
    const remote = await run(['-C', repo.dir, '--json', 'build', image]);
    const local = await run(['-C', repo.dir, '--json', 'build', image], { BAKE_DAEMON: '0' });
    expect(inDaemon(remote)).toBeDefined();
    expect(remote.exitCode).toBe(local.exitCode);
    expect(remote.exitCode).not.toBe(0);
    expect(remote.stdout).toBe(local.stdout);
    expect(remote.stderr.replace(/^bake:daemon.*\n/m, '')).toBe(local.stderr);
  });

  it('never runs a command with another environment than its own', async () => {
    const before = await daemonsUp(1);
    const other = await run(['-C', repo.dir, '--json', 'status'], { BAKE_TEST_MARK: 'other' });
    expect(other.exitCode, other.stderr).toBe(0);
    expect(inDaemon(other)).toBeUndefined();
    const after = await daemonsUp(before.length + 1);
    const again = await run(['-C', repo.dir, '--json', 'status'], { BAKE_TEST_MARK: 'other' });
    const fresh = after.find((p) => !before.includes(p));
    expect(Number(inDaemon(again))).toBe(fresh);
  });

  it('finds the daemon of any environment: values beyond ASCII, control characters, extra CA certificates', async () => {
    // bin/bake moves NODE_EXTRA_CA_CERTS aside and bake gives it back: both clients name the daemon with it.
    const extra = { BAKE_TEST_MARK: 'ünï 😀 "q" \\ tab\there\nline', NODE_EXTRA_CA_CERTS: join(runtime, 'extra-ca.pem') };
    const before = await daemonsUp(1);
    const first = await run(['-C', repo.dir, '--json', 'status'], extra);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(inDaemon(first)).toBeUndefined();
    const after = await daemonsUp(before.length + 1);
    const again = await run(['-C', repo.dir, '--json', 'status'], extra);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(Number(inDaemon(again))).toBe(after.find((p) => !before.includes(p)));
    expect(again.stderr).toContain(`(${client} client)`);
    expect(again.stdout).toBe(first.stdout);
  });

  it('runs the command itself when the daemon directory is not its own', async () => {
    await daemonsUp(1);
    await chmod(join(runtime, 'bake'), 0o777);
    try {
      const open = await run(['-C', repo.dir, '--json', 'status']);
      expect(open.exitCode, open.stderr).toBe(0);
      expect(inDaemon(open)).toBeUndefined();
      expect(JSON.parse(open.stdout).generation).toBeGreaterThan(0);
    } finally {
      await chmod(join(runtime, 'bake'), 0o700);
    }
  });

  it('stops with the signal its caller got, and the next command starts afresh', async () => {
    await daemonsUp(1);
    // The store's write lock held by another process: the commit waits in the daemon until signalled.
    const holder: ChildProcess = spawn(process.execPath, [HOLDER, repo.dir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', (d) => String(d).includes('locked') && resolve());
        holder.once('exit', () => reject(new Error('store-holder exited early')));
      });
      await appendFile(join(repo.dir, 'services', 'cart', 'NOTES'), 'one more line\n');
      await repo.commitAll('one more', '2026-01-02T00:00:00Z');
      const waiting = execa(LAUNCHER, ['-C', repo.dir, '--json', 'commit', '--all'], { env, reject: false });
      let stderr = '';
      waiting.stderr?.on('data', (d) => (stderr += d));
      for (let i = 0; i < 200 && !/waiting/.test(stderr); i++) await new Promise((r) => setTimeout(r, 25));
      const pid = Number(/running in daemon PID (\d+)/.exec(stderr)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(stderr).toMatch(/waiting/);
      waiting.kill('SIGINT');
      const ended = await waiting;
      expect(ended.signal).toBe('SIGINT');
      for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
      expect(alive(pid)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
    }
    // Nothing was recorded by the interrupted commit; the next one records it (locally, then a new daemon).
    const next = await run(['-C', repo.dir, '--json', 'commit', '--all']);
    expect(next.exitCode, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).commits.some((c: { created: boolean }) => c.created)).toBe(true);
    expect(existsSync(join(runtime, 'bake'))).toBe(true);
  });
});
