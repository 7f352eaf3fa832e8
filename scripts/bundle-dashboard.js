// Bundles the release dashboard (web/) for `bake serve`: the page's ES module (and the chart's,
// split off so the first paint does not wait for it) and one stylesheet under
// dist/dashboard/assets/, and dist/dashboard/index.html, all shipped in the package (no CDN, no
// network at run time). src/dashboard/static-files.ts serves exactly these files.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { build } from 'esbuild';

/** Builds dist/dashboard/ from web/. */
export async function bundleDashboard() {
  await rm('dist/dashboard/assets', { recursive: true, force: true });
  await mkdir('dist/dashboard/assets', { recursive: true });
  await build({
    entryPoints: { app: 'web/main.tsx' },
    outdir: 'dist/dashboard/assets',
    bundle: true,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunk-[hash]',
    platform: 'browser',
    // The browsers a team has now: module scripts, top-level await, CSS nesting not needed.
    target: ['chrome111', 'firefox115', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await copyFile('web/index.html', 'dist/dashboard/index.html');
  await copyFile('web/favicon.svg', 'dist/dashboard/assets/favicon.svg');
}
