#!/usr/bin/env node
// The published entry point: `npm run build` compiles src/ to dist/ and bundles the CLI into one
// classic script, dist/bake.cjs (scripts/bundle.js). Compiling that megabyte of JavaScript is
// most of what a nothing-changed `bake build` costs, so it is run through vm.Script with V8's code
// cache: the first run writes the compiled code to a per-user cache file, later runs hand it back
// (see codeCache below). A cache V8 rejects (another V8, flags, a damaged file) is only ignored.
//
// This file is CommonJS (bin/package.json says so): an ES module entry makes Node set up its ES
// module loader first, about 5 ms of every command. It still imports execa (ES only) on demand.
//
// On a developer's machine build, commit, status and log go through a per-user daemon that has all
// of that done already (bin/daemon-client.js); when none answers, the command runs here as before.
'use strict';
// bin/bake started Node without NODE_EXTRA_CA_CERTS, for speed (see bin/bake): bake trusts the file
// itself (src/util/extra-ca.ts), and child processes (hooks, tests, routers) get the variable back.
if (process.env.BAKE_EXTRA_CA_CERTS && !process.env.NODE_EXTRA_CA_CERTS) process.env.NODE_EXTRA_CA_CERTS = process.env.BAKE_EXTRA_CA_CERTS;
const { join } = require('node:path');

const daemon = require('./daemon-client.js');
const bundle = join(__dirname, '..', 'dist', 'bake.cjs');
const argv = process.argv.slice(2);
const command = daemon.commandWord(argv);

// The deploy-side commands undo or record what they did when interrupted (src/cli/interruptible.ts),
// but their handler is installed only once the bundle has loaded. A SIGINT or SIGTERM before then is
// kept here, and the command starts already interrupted, instead of dying with nothing recorded.
const INTERRUPTIBLE = new Set(['deploy', 'promote', 'rollback', 'abort', 'upgrade', 'toggle', 'up']);
if (INTERRUPTIBLE.has(command ?? '')) {
  const early = (signal) => {
    globalThis.__bakeEarlySignal ??= signal;
  };
  globalThis.__bakeEarlySignalStop = () => {
    process.off('SIGINT', early);
    process.off('SIGTERM', early);
  };
  process.on('SIGINT', early);
  process.on('SIGTERM', early);
}

if (argv[0] === '--bake-daemon') {
  // A daemon that bin/daemon-client.js asked for: serves commands on the socket named until idle.
  const { serveDaemon } = loadBundle('daemon');
  serveDaemon({ socket: argv[1], bundle, environmentKey: daemon.environmentKey, main: loadBundle.main }).catch(
    () => undefined,
  );
} else {
  const socket = daemon.daemonSocket(argv, process.env, bundle);
  if (socket === undefined) runLocally(undefined);
  else daemon.runThroughDaemon(argv, socket, process.env).then((how) => how !== 'done' && runLocally(how === 'absent' ? socket : undefined));
}

/**
 * Runs the command in this process. With `socket` (no daemon answered there), a daemon for this
 * environment is started afterwards, in the background, for the next command.
 */
function runLocally(socket) {
  const { main } = loadBundle(commandOf(argv));
  // If the event loop ever empties while a command still awaits something, Node would exit
  // quietly with code 0 (or 13): make that a loud failure instead of a silent success.
  let finished = false;
  process.on('beforeExit', () => {
    if (finished) return;
    finished = true;
    process.stderr.write('bake: internal error: the command stopped while waiting on something that can no longer answer\n');
    process.exitCode = 1;
  });
  main(argv).then(
    (exitCode) => {
      process.exitCode = exitCode;
      finished = true;
      loadBundle.saveCache();
      if (socket) startDaemon(socket.path);
    },
    (error) => {
      finished = true;
      process.stderr.write(`bake: internal error: ${error?.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}

/** Starts a daemon on `socket`, detached: it outlives this command and exits when idle (bin/daemon-client.js). */
function startDaemon(socket) {
  try {
    const { spawn } = require('node:child_process');
    spawn(process.execPath, [__filename, '--bake-daemon', socket], { detached: true, stdio: 'ignore', cwd: '/', env: process.env }).unref();
  } catch {
    // No daemon: the next command runs locally too.
  }
}

/** Compiles and runs the bundle (with V8's code cache for `command`'s kind of command line); returns its exports. */
function loadBundle(command) {
  const { isAscii } = require('node:buffer');
  const { readFileSync } = require('node:fs');
  const { createRequire } = require('node:module');
  const { pathToFileURL } = require('node:url');
  const vm = require('node:vm');
  const bytes = readFileSync(bundle);
  // esbuild writes ASCII (non-ASCII characters escaped), which latin1 decodes four times faster than
  // UTF-8; a bundle with other bytes in it is decoded as UTF-8 all the same.
  const code = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const cache = codeCache(bytes, command);
  const cachedData = cache?.read();
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __bakeModuleUrl) {${code}\n})`, {
    filename: bundle,
    ...(cachedData && { cachedData }),
  });
  // The bundle is a classic script, where import() needs a flag: execa (ES only) is imported here.
  globalThis.__bakeImport = (specifier) => import(specifier);
  // Derived data the CLI may keep between runs (parsed bake.yaml trees: src/config/yaml-cache.ts),
  // keyed by this bundle, in the same per-user directory as the code cache.
  if (cache?.usable()) globalThis.__bakeCache = { dir: cache.dir, build: cache.key };
  const module_ = { exports: {} };
  script.runInThisContext()(module_.exports, createRequire(bundle), module_, bundle, join(bundle, '..'), pathToFileURL(bundle).href);
  // Written after the command ran, so the cache also holds the functions it compiled lazily.
  loadBundle.saveCache = () => {
    if (cache && (!cachedData || script.cachedDataRejected)) cache.write(script.createCachedData());
  };
  loadBundle.main = module_.exports.main;
  return module_.exports;
}

/**
 * What the command line asks for, as far as the code it runs is concerned: the command and the
 * long flags given (`build+commit+json`). Each gets a code cache of its own, holding the functions
 * that command compiled: one shared cache held whatever the first command after a rebuild ran
 * (`--help`, say), and every `build` then compiled its own code again.
 */
function commandOf(argv) {
  const takesValue = new Set(['-C', '--workspace', '--service-url', '--service']);
  const flags = [...new Set(argv.filter((a) => /^--[a-z][a-z-]*$/.test(a) && !takesValue.has(a)).map((a) => a.slice(2)))].sort();
  const name = [command && /^[a-z][a-z-]{0,19}$/.test(command) ? command : 'none', ...flags].join('+');
  return name.length <= 80 ? name : name.slice(0, 80);
}

/**
 * The code cache file of this bundle on this Node for one kind of command line: keyed by the
 * bundle's sha256 and Node's version and architecture, so a rebuilt bundle or another Node never
 * meets an old cache (V8 itself checks only the source's length). It lives in
 * `$XDG_CACHE_HOME/bake` (else `~/.cache/bake`), else in a per-user directory of the temp dir; a
 * directory that is not ours alone (another user could plant compiled code there) is not used.
 * Every failure just means no cache.
 */
function codeCache(source, command) {
  const { createHash } = require('node:crypto');
  const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } = require('node:fs');
  const { homedir, tmpdir } = require('node:os');
  try {
    const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32);
    const uid = process.getuid?.() ?? -1;
    const home = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
    const dir = home ? join(home, 'bake') : join(tmpdir(), `bake-cache-${uid}`);
    const file = join(dir, `cli-${key}-${command}.v8cache`);
    const ours = () => {
      const s = statSync(dir);
      return s.isDirectory() && (uid < 0 || s.uid === uid) && (s.mode & 0o022) === 0;
    };
    return {
      dir,
      key,
      read() {
        try {
          return ours() ? readFileSync(file) : undefined;
        } catch {
          return undefined;
        }
      },
      /** Whether the directory exists (it is made on first use) and is ours alone. */
      usable() {
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          return ours();
        } catch {
          return false;
        }
      },
      /** Atomically (temp file, rename): a reader sees a whole cache or none. */
      write(data) {
        const tmp = `${file}.${process.pid}.tmp`;
        try {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          if (!ours()) return;
          const fd = openSync(tmp, 'wx', 0o600);
          try {
            writeSync(fd, data);
          } finally {
            closeSync(fd);
          }
          renameSync(tmp, file);
          // Caches of earlier bundles are dead weight now; of this one, the 24 newest command lines are kept.
          const mine = [];
          for (const name of readdirSync(dir)) {
            const match = /^cli-([0-9a-f]{32})(-.*)?\.v8cache$/.exec(name);
            if (!match) continue;
            if (match[1] !== key) rmSync(join(dir, name), { force: true });
            else mine.push({ name, at: statSync(join(dir, name)).mtimeMs });
          }
          mine.sort((a, b) => b.at - a.at);
          for (const { name } of mine.slice(24)) rmSync(join(dir, name), { force: true });
        } catch {
          rmSync(tmp, { force: true });
        }
      },
    };
  } catch {
    return undefined;
  }
}
