import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { closeWorkspaceStores } from '../store/workspace-store.js';

/**
 * The server half of bake's per-user build daemon (the client half, and why it exists:
 * bin/daemon-client.js). It listens on a unix socket in a directory only its user can enter and
 * runs one CLI command at a time through the same `main` a local run uses, with the caller's
 * argv, directory, umask, terminal and environment. It declines (the caller then runs the command
 * in its own process) when it is busy, when the caller's environment is not exactly its own (every
 * variable but the volatile ones: it was started with the caller's, and code reads process.env),
 * and when the bundle it runs has been rebuilt (then it also exits).
 *
 * A caller that sends a signal, or disappears mid-command, stops the daemon the way that signal
 * would have stopped a local run: locks it held are then a dead process's, as they would be.
 * Nothing a command opened outlives it: the stores are closed after each one (a workspace whose
 * .bake/ was removed meanwhile is opened afresh). `<socket>.pid` holds the daemon's process id.
 */
export interface DaemonOptions {
  /** The socket's path (its directory is made 0700 if absent). */
  socket: string;
  /** The bundle this daemon runs, and its identity when it started. */
  bundle: string;
  /** The same comparison key bin/daemon-client.js computes from an environment. */
  environmentKey(env: NodeJS.ProcessEnv): string;
  /** The CLI's entry (cli/main.ts, handed in: it exports this module). */
  main(argv: string[], io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Promise<number>;
  /** Exit after this long without a command (default 10 minutes, BAKE_DAEMON_IDLE_MS). */
  idleMs?: number;
}

interface DaemonRequest {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  umask: number;
  tty: { stdout: boolean; stderr: boolean; columns?: number };
}

export async function serveDaemon(options: DaemonOptions): Promise<void> {
  const idleMs = options.idleMs ?? (Number(process.env['BAKE_DAEMON_IDLE_MS']) || 10 * 60_000);
  const identity = bundleIdentity(options.bundle);
  const ownKey = options.environmentKey(process.env);
  let busy = false;
  let idle: NodeJS.Timeout | undefined;
  const server = createServer((conn) => {
    conn.setEncoding('utf8');
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      conn.off('data', onData);
      let request: DaemonRequest;
      try {
        request = JSON.parse(buffered.slice(0, nl)) as DaemonRequest;
      } catch {
        conn.destroy();
        return;
      }
      const reason = busy
        ? 'busy'
        : bundleIdentity(options.bundle) !== identity
          ? 'stale'
          : options.environmentKey(request.env) !== ownKey
            ? 'environment'
            : undefined;
      if (reason !== undefined) {
        conn.end(`${JSON.stringify({ decline: reason })}\n`);
        if (reason === 'stale') stop();
        return;
      }
      busy = true;
      if (idle) clearTimeout(idle);
      void run(conn, request, buffered.slice(nl + 1)).finally(() => {
        busy = false;
        armIdle();
      });
    };
    conn.on('data', onData);
    conn.on('error', () => undefined);
  });

  function armIdle() {
    idle = setTimeout(stop, idleMs);
    idle.unref();
  }
  function stop() {
    removeFile(options.socket);
    server.close();
  }
  const pidFile = `${options.socket.replace(/\.sock$/, '')}.pid`;

  mkdirSync(dirOf(options.socket), { recursive: true, mode: 0o700 });
  // A socket in a directory others can write could be replaced by anyone's: no daemon there.
  if (!oursAlone(dirOf(options.socket))) return;
  if (!(await claimSocket(options.socket))) return; // another daemon answers there: it serves
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.socket, () => resolve());
  });
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  armIdle();
  await new Promise<void>((resolve) => server.once('close', () => resolve()));
  removeFile(pidFile);

  async function run(conn: Socket, request: DaemonRequest, rest: string): Promise<void> {
    conn.write(`${JSON.stringify({ accept: process.pid })}\n`);
    // What the caller sends while its command runs is a signal, or its going away.
    let tail = rest;
    let done = false;
    conn.on('data', (chunk: string) => {
      tail += chunk;
      for (let nl = tail.indexOf('\n'); nl >= 0; nl = tail.indexOf('\n')) {
        const frame = JSON.parse(tail.slice(0, nl)) as { signal?: string };
        tail = tail.slice(nl + 1);
        if (frame.signal) die(frame.signal as NodeJS.Signals);
      }
    });
    conn.on('close', () => {
      if (!done) die('SIGKILL');
    });
    const send = (frame: object) => {
      if (!conn.destroyed) conn.write(`${JSON.stringify(frame)}\n`);
    };
    const stream = (key: 'out' | 'err', tty: boolean) =>
      ({
        write(chunk: string | Uint8Array) {
          send({ [key]: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8') });
          return true;
        },
        isTTY: tty,
        columns: request.tty.columns,
      }) as unknown as NodeJS.WriteStream;
    const io = { stdout: stream('out', request.tty.stdout), stderr: stream('err', request.tty.stderr) };
    // Code that writes to the process's own streams (the debug log) writes to the caller's too.
    const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
    process.stdout.write = io.stdout.write as typeof process.stdout.write;
    process.stderr.write = io.stderr.write as typeof process.stderr.write;
    const umask = process.umask(request.umask);
    let code: number;
    try {
      process.chdir(request.cwd);
      code = await options.main(request.argv, io);
    } catch (error) {
      send({ err: `bake: internal error: ${(error as Error)?.stack ?? String(error)}\n` });
      code = 1;
    } finally {
      await closeWorkspaceStores().catch(() => undefined);
      process.stdout.write = writes.stdout;
      process.stderr.write = writes.stderr;
      process.umask(umask);
      process.chdir('/');
    }
    done = true;
    send({ exit: code });
    conn.end();
  }

  function die(signal: NodeJS.Signals) {
    removeFile(options.socket);
    removeFile(pidFile);
    process.kill(process.pid, signal);
    // A signal something in the command handles (none of the daemon's commands do) must still stop it.
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200).unref();
  }
}

function oursAlone(dir: string): boolean {
  const s = statSync(dir);
  const uid = process.getuid?.() ?? -1;
  return s.isDirectory() && (uid < 0 || s.uid === uid) && (s.mode & 0o022) === 0;
}

/** The bundle file's identity: a rebuilt bundle is another bake. */
function bundleIdentity(bundle: string): string {
  try {
    const s = statSync(bundle);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Makes `path` free to listen on: false when a live daemon answers there, else removes what a dead one left. */
function claimSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', () => {
      removeFile(path);
      resolve(true);
    });
  });
}

/** Removes a file of the daemon's (its socket, its pid file), if it is still there. */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}
