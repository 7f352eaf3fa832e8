import { open, stat } from 'node:fs/promises';
import { FileStore } from '../store/file-store.js';
import { workspaceStore } from '../store/workspace-store.js';
import type { AppContext } from './context.js';

export interface ManifestGenerationOptions {
  /** The `mark` of an earlier answer: when the manifest has not changed since, it is not read again. */
  since?: string;
}

/**
 * The manifest's generation, and a mark that changes whenever the manifest changes; or, when
 * `since` is still the mark, only that it is unchanged.
 */
export type ManifestGenerationResult = { unchanged: false; generation: number; mark: string } | { unchanged: true; mark: string };

const HEAD_BYTES = 512;
/** Where the JSON store's writer puts the generation: the second top-level key of the pretty-printed manifest. */
const TOP_LEVEL_GENERATION = /^ {2}"generation": (\d+),?$/m;

/**
 * What the manifest's generation is now, cheaply enough to ask twice a second: one row of a
 * database store; for the JSON file a stat (every write replaces it by rename, so inode, size and
 * mtime say whether it changed), then only its first bytes, where the writer keeps the generation.
 * An empty store is generation 0. Throws ManifestError for a corrupt one.
 */
export async function manifestGeneration(ctx: AppContext, options: ManifestGenerationOptions = {}): Promise<ManifestGenerationResult> {
  const store = await workspaceStore(ctx.workspace, ctx.env);
  if (!(store instanceof FileStore)) {
    const generation = await store.generation();
    const mark = `g${generation}`;
    return options.since === mark ? { unchanged: true, mark } : { unchanged: false, generation, mark };
  }
  const file = store.file;
  const info = await stat(file, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return options.since === 'absent' ? { unchanged: true, mark: 'absent' } : { unchanged: false, generation: 0, mark: 'absent' };
  const mark = `${info.ino}:${info.size}:${info.mtimeNs}`;
  if (options.since === mark) return { unchanged: true, mark };
  const handle = await open(file, 'r').catch(() => undefined);
  let head = '';
  if (handle) {
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0);
      head = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  }
  const found = TOP_LEVEL_GENERATION.exec(head)?.[1];
  const value = found !== undefined ? Number(found) : await store.generation();
  return { unchanged: false, generation: value, mark };
}
