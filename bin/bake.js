#!/usr/bin/env node
// The published entry point: `npm run build` compiles src/ to dist/ and bundles the CLI into one
// classic script, dist/bake.cjs (scripts/bundle.js). Compiling that megabyte of JavaScript is
// most of what a nothing-changed `bake build` costs, so it is run through vm.Script with V8's code
// cache: the first run writes the compiled code to a per-user cache file, later runs hand it back
// (see codeCache below). A cache V8 rejects (another V8, flags, a damaged file) is only ignored.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('../dist/bake.cjs', import.meta.url));
const code = readFileSync(bundle, 'utf8');
const cache = codeCache(code);
const cachedData = cache?.read();
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname, __bakeModuleUrl) {${code}\n})`, {
  filename: bundle,
  ...(cachedData && { cachedData }),
});
// The bundle is a classic script, where import() needs a flag: execa (ES only) is imported here.
globalThis.__bakeImport = (specifier) => import(specifier);
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, join(bundle, '..'), pathToFileURL(bundle).href);
const { main } = module.exports;

// If the event loop ever empties while a command still awaits something, Node would exit
// quietly with code 0 (or 13): make that a loud failure instead of a silent success.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('bake: internal error: the command stopped while waiting on something that can no longer answer\n');
  process.exitCode = 1;
});
process.exitCode = await main(process.argv.slice(2));
finished = true;
// Written after the command ran, so the cache also holds the functions it compiled lazily.
if (cache && (!cachedData || script.cachedDataRejected)) cache.write(script.createCachedData());

/**
 * The code cache file of this bundle on this Node: keyed by the bundle's sha256 and Node's version
 * and architecture, so a rebuilt bundle or another Node never meets an old cache (V8 itself checks
 * only the source's length). It lives in `$XDG_CACHE_HOME/bake` (else `~/.cache/bake`), else in a
 * per-user directory of the temp dir; a directory that is not ours alone (another user could plant
 * compiled code there) is not used. Every failure just means no cache.
 */
function codeCache(source) {
  try {
    const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32);
    const uid = process.getuid?.() ?? -1;
    const home = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
    const dir = home ? join(home, 'bake') : join(tmpdir(), `bake-cache-${uid}`);
    const file = join(dir, `cli-${key}.v8cache`);
    const ours = () => {
      const s = statSync(dir);
      return s.isDirectory() && (uid < 0 || s.uid === uid) && (s.mode & 0o022) === 0;
    };
    return {
      read() {
        try {
          return ours() ? readFileSync(file) : undefined;
        } catch {
          return undefined;
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
          // Caches of earlier bundles are dead weight now.
          for (const name of readdirSync(dir)) if (/^cli-[0-9a-f]{32}\.v8cache$/.test(name) && join(dir, name) !== file) rmSync(join(dir, name), { force: true });
        } catch {
          rmSync(tmp, { force: true });
        }
      },
    };
  } catch {
    return undefined;
  }
}
