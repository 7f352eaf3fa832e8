// Bundles the compiled CLI into one classic script (dist/bake.cjs). Resolving and compiling ~60
// modules costs more than a no-change bake does; one file starts about 35 ms faster, and as a
// classic script bin/bake.js can hand V8 the code it compiled last time (vm.Script cachedData),
// which an ES module cannot on Node 20. dockerode (with its native optional deps) and execa stay
// external: they load only when a command needs them (dockerode by require, execa, ES-only,
// through the import bin/bake.js hands in: src/util/exec.ts).
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';
import { bundleDashboard } from './bundle-dashboard.js';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bake.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['dockerode', 'cpu-features', 'ssh2', 'execa', 'better-sqlite3', 'pg', 'pg-native'],
  // A classic script has no import(): lazy imports of bundled modules become plain calls, dockerode a require().
  supported: { 'dynamic-import': false },
  // Modules that find their package from their own file (bakeEntry, the dashboard's files): bin/bake.js passes the bundle's URL.
  define: { 'import.meta.url': '__bakeModuleUrl' },
  logLevel: 'warning',
});
// The ES module bundle of earlier versions, if a previous build left one.
await rm('dist/bake.mjs', { force: true });

// The release dashboard that `bake serve` shows at / (web/ → dist/dashboard/).
await bundleDashboard();
