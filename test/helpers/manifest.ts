import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VersionManifest } from '../../src/manifest/model.js';
import { workspaceStore } from '../../src/store/workspace-store.js';
import { bake } from './bake-cli.js';

/**
 * The version manifest of a workspace, read the way bake reads it: through the workspace's store
 * (workspace-store.ts picks it from BAKE_DATABASE_URL, bake.yaml `database:`, else `.bake/state.db`).
 * Pass the same `env` the test gives its bake processes (`{ BAKE_DATABASE_URL: … }`), so both sides
 * look at one store; it is added to this process's environment, as bake-cli.ts adds it to theirs.
 */

/** A plain snapshot of the whole manifest, read in this process. */
export async function manifestOf(workspace: string, env: Record<string, string> = {}): Promise<VersionManifest> {
  return (await workspaceStore(workspace, { ...process.env, ...env })).snapshot();
}

/**
 * Seeds an empty store with `manifest` (a big history written by a test) as a user would: the
 * manifest as a file, then `bake migrate --from FILE` into the store `env` picks. Throws when bake
 * refuses (a store that already holds records, a manifest it cannot read).
 */
export async function replaceManifest(
  workspace: string,
  manifest: VersionManifest,
  options: { env?: Record<string, string> } = {},
): Promise<void> {
  const env = options.env ?? {};
  const dir = await mkdtemp(join(tmpdir(), 'bake-seed-'));
  try {
    const file = join(dir, 'manifest.json');
    await writeFile(file, `${JSON.stringify(manifest)}\n`);
    // migrate's default target moves a JSON store to SQLite: name the store the test uses.
    const to = env['BAKE_DATABASE_URL'] ? ['--to', env['BAKE_DATABASE_URL']] : [];
    const run = await bake(['-C', workspace, '--json', 'migrate', '--from', file, ...to], { env });
    if (run.exitCode !== 0) throw new Error(`bake migrate exited ${run.exitCode}: ${run.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
