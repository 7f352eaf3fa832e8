import { open, stat } from 'node:fs/promises';
import { workspacePaths } from '../config/workspace-paths.js';
import { readManifest } from '../manifest/manifest-file.js';
import type { AppContext } from './context.js';

export interface ManifestGenerationOptions {
  /** The `mark` of an earlier answer: when the manifest is still that file, it is not read again. */
  since?: string;
}

/**
 * The manifest's generation, and a mark that changes whenever the manifest file is replaced; or,
 * when `since` still names the file, only that it is unchanged.
 */
export type ManifestGenerationResult = { unchanged: false; generation: number; mark: string } | { unchanged: true; mark: string };

const HEAD_BYTES = 512;
/** Where the writer puts the generation: the second top-level key of the pretty-printed manifest. */
const TOP_LEVEL_GENERATION = /^ {2}"generation": (\d+),?$/m;

/**
 * What the manifest's generation is now, cheaply enough to ask twice a second: a stat of the file
 * (every write replaces it by rename, so inode, size and mtime say whether it changed), then only
 * its first bytes, where the writer keeps the generation; the whole manifest is read only when
 * those bytes do not say. An absent manifest is generation 0. Throws ManifestError for a corrupt one.
 */
export async function manifestGeneration(ctx: AppContext, options: ManifestGenerationOptions = {}): Promise<ManifestGenerationResult> {
  const file = workspacePaths(ctx.workspace).manifest;
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
  const value = found !== undefined ? Number(found) : (await readManifest(file)).generation;
  return { unchanged: false, generation: value, mark };
}
