// Bundles the compiled CLI into one ES module (dist/bake.mjs). Resolving and compiling ~60
// modules costs more than a no-change bake does; one file starts about 35 ms faster. dockerode
// (with its native optional deps) and execa stay external: they load only when a command needs them.
import { build } from 'esbuild';
import { bundleDashboard } from './bundle-dashboard.js';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bake.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['dockerode', 'cpu-features', 'ssh2', 'execa'],
  // CommonJS dependencies (proper-lockfile, graceful-fs) call require(); give them one.
  banner: { js: "import { createRequire as __bakeRequire } from 'node:module'; const require = __bakeRequire(import.meta.url);" },
  logLevel: 'warning',
});

// The release dashboard that `bake serve` shows at / (web/ → dist/dashboard/).
await bundleDashboard();
