import { atomicWriteFile } from '../util/atomic-write.js';
import type { VersionManifest } from '../manifest/model.js';
import { workspaceStore } from '../store/workspace-store.js';
import type { AppContext } from './context.js';

export interface ExportOptions {
  /** Write the manifest here (atomically) instead of returning it. */
  out?: string;
}

export interface ExportResult {
  store: string;
  generation: number;
  /** The whole manifest, when no `out` was given. */
  manifest?: VersionManifest;
  out?: string;
}

/**
 * The whole version manifest of the workspace's store, in the manifest file's format: what
 * `bake migrate` imports, a backup, or a file for other tools. Reads every record: its cost
 * grows with history. Throws ManifestError.
 */
export async function exportManifest(ctx: AppContext, options: ExportOptions = {}): Promise<ExportResult> {
  const store = await workspaceStore(ctx.workspace, ctx.env);
  const manifest = await store.snapshot();
  if (options.out === undefined) return { store: store.description, generation: manifest.generation, manifest };
  await atomicWriteFile(options.out, `${JSON.stringify(manifest, null, 2)}\n`);
  return { store: store.description, generation: manifest.generation, out: options.out };
}
