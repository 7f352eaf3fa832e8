// The client half of bake's per-user build daemon (the server half: src/cli/daemon-server.ts).
//
// Why: a `bake build` on a laptop spends most of a small rebuild starting up: Node itself (40 ms),
// then compiling and initializing the bundle, loading SQLite, opening the store (50–100 ms) — more
// than the build. A daemon that stays up between commands does that once, as Gradle's and
// BuildKit's do. This file is all a command loads when the daemon answers: node:net, node:fs,
// node:os, node:path, nothing of the bundle.
//
// What goes through it: `build`, `commit`, `status` and `log` run locally (not through a bake
// service), unless BAKE_DAEMON=0, or CI=true without BAKE_DAEMON=1 (an ephemeral runner gains
// nothing from it and should not leave a process behind). One daemon serves one user, one bake
// bundle and one environment: its socket's name is a hash of the bundle file's identity and of
// every environment variable, and the daemon still compares the whole environment before it runs
// anything, so a command always runs with exactly its own environment. It runs one command at a
// time; a command that finds it busy (or absent, or of another environment) runs in its own
// process as before, so concurrent commands stay concurrent processes. An absent daemon is started
// after the command, in the background, for the next one; it exits after BAKE_DAEMON_IDLE_MS
// (default 10 minutes) without a command.
//
// Faithful to a local run: the command runs in the caller's directory and umask and sees the
// caller's terminal (isTTY, columns); its stdout and stderr come back in order; the exit code is
// the command's; a SIGINT, SIGTERM or SIGHUP here stops the daemon with that signal, and this
// process then dies of it too, exactly as a local run would; a client killed outright stops it too.
// BAKE_DEBUG=daemon says on stderr when a command ran in the daemon, and in which.
'use strict';
const { connect } = require('node:net');
const { mkdirSync, statSync } = require('node:fs');
const { homedir } = require('node:os');
const { join } = require('node:path');

const COMMANDS = new Set(['build', 'commit', 'status', 'log']);
/** Variables a shell changes between two commands of one session, and the daemon's own: not part of the environment compared. */
const VOLATILE = new Set(['_', 'PWD', 'OLDPWD', 'SHLVL', 'BAKE_DAEMON', 'BAKE_DAEMON_IDLE_MS', 'BAKE_CLIENT']);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The environment as compared: every variable but the volatile ones, sorted. */
function environmentKey(env) {
  return JSON.stringify(
    Object.keys(env)
      .filter((k) => !VOLATILE.has(k))
      .sort()
      .map((k) => [k, env[k]]),
  );
}

/**
 * The socket's name: 32-bit FNV-1a, twice with different seeds, over the bytes of `text` (UTF-8).
 * A name, not a proof (the daemon compares the environment itself). bin/daemon-client.c computes
 * the same name from the same bytes, so both clients find one daemon.
 */
function nameHash(text) {
  const bytes = Buffer.from(text, 'utf8');
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (const c of bytes) {
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193 + 2);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** A file's identity as both clients write it: device, inode, size and mtime in nanoseconds. */
function fileIdentity(path) {
  const s = statSync(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

/**
 * What names a daemon: the bundle's identity (a rebuilt bake never meets an old daemon), the Node
 * binary's (nor another Node), the user, and every variable but the volatile ones, sorted, each
 * `NAME=value` and a NUL.
 */
function nameKey(bundle, env, uid) {
  const vars = Object.keys(env)
    .filter((k) => !VOLATILE.has(k))
    .sort()
    .map((k) => `${k}=${env[k]}\0`)
    .join('');
  return `${fileIdentity(bundle)}\0${fileIdentity(process.execPath)}\0${uid}\0${vars}`;
}

/** The command word of argv (the first that is not a global option or its value); bin/bake.js uses it too. */
function commandWord(argv) {
  const takesValue = new Set(['-C', '--workspace', '--service-url', '--service']);
  return argv.find((arg, i) => !arg.startsWith('-') && !takesValue.has(argv[i - 1] ?? ''));
}

/**
 * Where this command's daemon listens, or undefined when the command does not go through one.
 * `bundle` is the bundle's path (see nameKey).
 */
function daemonSocket(argv, env, bundle) {
  if (process.platform === 'win32') return undefined;
  const wanted = env.BAKE_DAEMON === '1' || (env.BAKE_DAEMON !== '0' && env.CI !== 'true');
  if (!wanted || env.BAKE_SERVICE) return undefined;
  if (!COMMANDS.has(commandWord(argv) ?? '')) return undefined;
  if (argv.some((a) => a === '-h' || a === '--help' || a.startsWith('--service'))) return undefined;
  try {
    const uid = process.getuid?.() ?? -1;
    const base = env.XDG_RUNTIME_DIR || (env.XDG_CACHE_HOME ? env.XDG_CACHE_HOME : join(homedir(), '.cache'));
    const dir = join(base, 'bake');
    const name = nameHash(nameKey(bundle, env, uid));
    const path = join(dir, `daemon-${name}.sock`);
    // A unix socket's path is limited to 107 bytes; a longer one just means no daemon.
    return Buffer.byteLength(path) < 100 ? { dir, path, uid } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir` is ours alone (a socket in a directory others can write could be anyone's). */
function oursAlone(dir, uid) {
  try {
    const s = statSync(dir);
    return s.isDirectory() && (uid < 0 || s.uid === uid) && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Runs the command through its daemon. Resolves with 'done' (it ran there: exit code set, output
 * written), 'absent' (no daemon: run locally, then start one) or 'local' (busy, another
 * environment, or a stale daemon: run locally).
 */
function runThroughDaemon(argv, socket, env) {
  return new Promise((resolve) => {
    if (!oursAlone(socket.dir, socket.uid)) return resolve('absent');
    const conn = connect(socket.path);
    let started = false;
    let finished = false;
    let signalled;
    let buffered = '';
    const onSignal = (signal) => {
      signalled = signal;
      if (!conn.destroyed) conn.write(`${JSON.stringify({ signal })}\n`);
    };
    const settle = (how) => {
      for (const s of SIGNALS) process.off(s, onSignal);
      resolve(how);
    };
    conn.on('error', () => {
      if (!started) settle('absent');
    });
    conn.on('connect', () => {
      const tty = { stdout: process.stdout.isTTY === true, stderr: process.stderr.isTTY === true, columns: process.stderr.columns };
      conn.write(`${JSON.stringify({ argv, cwd: process.cwd(), env, umask: process.umask(), tty })}\n`);
    });
    conn.on('data', (chunk) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const frame = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if (frame.decline !== undefined) {
          conn.destroy();
          return settle('local');
        }
        if (frame.accept !== undefined) {
          started = true;
          if (/(^|,)\s*(\*|daemon)\s*(,|$)/.test(env.BAKE_DEBUG ?? '')) process.stderr.write(`bake:daemon running in daemon PID ${frame.accept} (node client)\n`);
          for (const s of SIGNALS) process.on(s, onSignal);
        }
        if (frame.out !== undefined) process.stdout.write(frame.out);
        if (frame.err !== undefined) process.stderr.write(frame.err);
        if (frame.exit !== undefined) {
          finished = true;
          process.exitCode = frame.exit;
        }
      }
    });
    conn.on('close', () => {
      if (!started) return settle(finished ? 'done' : 'absent');
      if (!finished && signalled) {
        // The daemon died of the signal this process was sent: so does this process.
        settle('done');
        process.kill(process.pid, signalled);
        return;
      }
      if (!finished) {
        process.stderr.write('bake: the bake daemon stopped before the command finished (BAKE_DAEMON=0 runs commands without it)\n');
        process.exitCode = 1;
      }
      settle('done');
    });
  });
}

module.exports = { commandWord, daemonSocket, environmentKey, runThroughDaemon };
