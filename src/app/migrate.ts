import { join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';
import { readManifestFile } from '../manifest/manifest-file.js';
import { InputError } from '../util/errors.js';
import { FileStore } from '../store/file-store.js';
import { redactUrl, storeLocation, workspaceStore } from '../store/workspace-store.js';
import type { AppContext } from './context.js';

export interface MigrateOptions {
  /** The manifest file to import (default `.bake/manifest.json`). */
  from?: string;
  /** The store to import into (a BAKE_DATABASE_URL value); default the workspace's store, or SQLite for a JSON one. */
  to?: string;
}

export interface MigrateResult {
  from: string;
  to: string;
  generation: number;
  services: number;
  versions: number;
  builds: number;
  releases: number;
}

/**
 * Imports a manifest file (`bake export`'s output, or the JSON store of a workspace made before the
 * database) into an empty store, in one write; the file is left as it is. Throws ManifestError for
 * an unreadable file or a store that already holds records, InputError for a bad `to`.
 */
export async function migrate(ctx: AppContext, options: MigrateOptions = {}): Promise<MigrateResult> {
  const paths = workspacePaths(ctx.workspace);
  const from = options.from ?? paths.manifest;
  const manifest = await readManifestFile(from);
  if (manifest.generation === 0) {
    throw new InputError([
      {
        file: from,
        field: 'generation',
        message: 'there is nothing to import (no such file, or an empty manifest)',
        fix: 'name the manifest with --from FILE',
      },
    ]);
  }
  const env = { ...ctx.env, BAKE_DATABASE_URL: options.to ?? defaultTarget(ctx) };
  const location = storeLocation(ctx.workspace, env);
  const store = await workspaceStore(ctx.workspace, env);
  if (store instanceof FileStore && store.file === from) {
    throw new InputError([
      { file: 'command line', field: '--to', message: `${from} is the file being imported`, fix: 'name another store with --to' },
    ]);
  }
  await store.import(manifest);
  const count = (list: Record<string, { length: number }>) => Object.values(list).reduce((n, l) => n + l.length, 0);
  return {
    from,
    to: location.kind === 'postgres' ? redactUrl(location.url) : location.url,
    generation: manifest.generation,
    services: Object.keys(manifest.services).length,
    versions: count(Object.fromEntries(Object.entries(manifest.services).map(([k, h]) => [k, h.versions]))),
    builds: count(manifest.builds),
    releases: count(Object.fromEntries(Object.entries(manifest.environments).map(([k, e]) => [k, e.releases]))),
  };
}

/** The workspace's configured store; a workspace still on its JSON file moves to the embedded SQLite one. */
function defaultTarget(ctx: AppContext): string {
  const current = storeLocation(ctx.workspace, ctx.env);
  if (current.kind === 'json') return `sqlite:${join(workspacePaths(ctx.workspace).bakeDir, 'state.db')}`;
  return current.kind === 'postgres' ? current.url : `sqlite:${current.url}`;
}
