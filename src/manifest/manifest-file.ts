import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ManifestError } from '../util/errors.js';
import { withFileLock } from '../lock/file-lock.js';
import type { UpdateOptions } from '../store/manifest-store.js';
import { atomicWriteFile } from '../util/atomic-write.js';
import { isProcessAlive } from '../util/process-alive.js';
import { emptyManifest, MANIFEST_SCHEMA, type VersionManifest } from './model.js';

/**
 * Reading and writing `.bake/manifest.json`. Reads refuse anything that is not a manifest this
 * version understands (and such a file is then never overwritten); writes are atomic and happen
 * only inside `updateManifestFile`, under the manifest lock, with the generation incremented.
 */

/** Reads the manifest, or an empty one if the file does not exist. Throws ManifestError if corrupt or newer. */
export async function readManifestFile(file: string): Promise<VersionManifest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyManifest();
    throw new ManifestError(`cannot read the version manifest ${file}: ${(error as Error).message}`, file, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(
      `the version manifest ${file} is corrupt (${(error as Error).message}); bake will not overwrite it. Restore it from a backup or version control, or move it aside to start a new history`,
      file,
      { cause: error },
    );
  }
  return checkShape(value, file);
}

function checkShape(value: unknown, file: string): VersionManifest {
  const m = value as Partial<VersionManifest> | null;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new ManifestError(`the version manifest ${file} is not a JSON object; bake will not overwrite it`, file);
  }
  if (typeof m.schema === 'number' && m.schema > MANIFEST_SCHEMA) {
    throw new ManifestError(
      `the version manifest ${file} has schema ${m.schema}, newer than this bake understands (${MANIFEST_SCHEMA}); upgrade bake. The file was left untouched`,
      file,
    );
  }
  const problems: string[] = [];
  if (m.schema !== MANIFEST_SCHEMA) problems.push(`schema must be ${MANIFEST_SCHEMA}`);
  if (!Number.isInteger(m.generation) || (m.generation ?? -1) < 0) problems.push('generation must be a whole number');
  for (const key of ['services', 'builds', 'environments'] as const) {
    const v = m[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) problems.push(`${key} must be an object`);
  }
  if (problems.length > 0) {
    throw new ManifestError(`the version manifest ${file} is invalid (${problems.join('; ')}); bake will not overwrite it`, file);
  }
  return m as VersionManifest;
}

/**
 * Read-modify-write under the manifest lock. `fn` may mutate the manifest it is given and returns
 * a result; `write: false` from `fn` skips the write (nothing changed). The generation is
 * incremented exactly once per write. Throws ManifestError/LockError; on any throw nothing is written.
 */
export async function updateManifestFile<T>(
  file: string,
  options: UpdateOptions,
  fn: (manifest: VersionManifest, signal: AbortSignal) => Promise<{ result: T; write: boolean }>,
): Promise<T> {
  // Refuse a corrupt or newer manifest before taking the lock, so refusing touches nothing. If
  // nobody wrote it meanwhile (every write renames a new file in: a new inode and mtime), the copy
  // read here is the one used under the lock: a long history is parsed once per update, not twice.
  const stamped = await stampOf(file);
  const early = await readManifestFile(file);
  return withFileLock(
    file,
    {
      purpose: options.purpose,
      ...(options.onWait && { onWait: options.onWait }),
      ...(options.staleMs !== undefined && { staleMs: options.staleMs }),
      ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    },
    async ({ signal, assertHeld }) => {
      const unchanged = stamped !== undefined && stamped === (await stampOf(file));
      const manifest = unchanged ? early : await readManifestFile(file);
      const { result, write } = await fn(manifest, signal);
      if (write) {
        await assertHeld();
        manifest.generation += 1;
        await atomicWriteFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
      }
      return result;
    },
  );
}

/** How old a writer's temp file must be before it is removed even though its process id is alive (reused). */
const STALE_TEMP_MS = 10 * 60_000;

/**
 * Removes the temp files that writers of `file` killed mid-write left beside it
 * (`.manifest.json.<pid>.<random>.tmp`, see atomicWriteFile): those whose process is gone, and
 * any older than ten minutes (a write takes milliseconds). A live writer's file is kept, so this
 * is safe while other bake processes run. Resolves with the names removed.
 */
export async function removeStaleTempFiles(file: string): Promise<string[]> {
  const dir = dirname(file);
  const prefix = `.${basename(file)}.`;
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const match = name.startsWith(prefix) ? /^(\d+)\.[a-f0-9]+\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (!match) continue;
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (!info) continue;
    if (isProcessAlive(Number(match[1])) && Date.now() - info.mtimeMs < STALE_TEMP_MS) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

/** Identity of the manifest file's current content (inode, size, mtime in ns); undefined when absent. */
async function stampOf(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}
