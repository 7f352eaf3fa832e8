import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { readdir, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { workspacePaths } from '../config/workspace-paths.js';
import { readSafeTar, readSafeTarInMemory } from '../layer/safe-tar.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { type Digest, isDigest } from '../util/digest.js';
import { BakeError } from '../util/errors.js';
import { isProcessAlive } from '../util/process-alive.js';
import type { TreeEntry } from '../tree/tree.js';
import { MEMORY_UPLOAD_BYTES, type MemoryUploads } from './memory-uploads.js';

/** An upload that does not match its digest, or names one that was never made. */
export class UploadError extends BakeError {
  override name = 'UploadError';
  override readonly kind: string = 'upload';
  override readonly exitCode: number = 2;
}

/**
 * A request names uploads this service does not have (made to another replica, or removed by gc):
 * the client uploads them here and sends the request again. `missing` lists their hex digests.
 */
export class UploadMissingError extends UploadError {
  override name = 'UploadMissingError';
  override readonly kind: string = 'upload-missing';
  readonly missing: string[];

  constructor(missing: string[], options?: { cause?: unknown }) {
    super(`no upload ${missing.map((hex) => `sha256:${hex}`).join(', ')} here; POST it to /v1/uploads first`, options);
    this.missing = missing;
  }

  override details(): Record<string, unknown> {
    return { missing: this.missing };
  }
}

/** Largest upload unpacked from the shared store (the service's own limit applies to what clients send). */
const SHARED_MAX_BYTES = 1 << 30;

/** A half-written upload: `.tmp-<pid>-<random>`, so a restart can tell its own from a live process's. */
const TEMP = /^\.tmp-(?:(\d+)-)?/;

/**
 * Receives a tar stream of a service's tree and unpacks it under
 * `<workspace>/.bake/uploads/<hex>/`, streaming file bodies to disk (memory stays bounded
 * whatever the size) through readSafeTar, which refuses links through links, hard links, devices,
 * duplicates and anything over `maxBytes`; then checks the sha256 of the bytes received against
 * the digest the client named. Resolves with the hex. An upload already present is not unpacked
 * again (its age is refreshed, so gc keeps it); identical uploads racing each other all succeed.
 * Throws UploadError for a malformed digest or a mismatch, UnsafeSourceError (TarLimitError for a
 * limit) for the archive, none naming a path of this machine; on any failure nothing is left.
 * With `shared` (the workspace's registry-backed store, shared-uploads.ts) the bytes also go to the
 * blob registry as they arrive, so another replica can unpack the same upload (uploadedTree).
 * With `memory`, an upload whose declared length is at most MEMORY_UPLOAD_BYTES is checked the
 * same way but held there instead of unpacked (memory-uploads.ts).
 */
export async function receiveUpload(
  workspace: string,
  digest: string,
  body: Readable,
  limits: { maxBytes: number },
  shared?: LayoutStore,
  memory?: { uploads: MemoryUploads; declaredBytes: number },
): Promise<string> {
  if (!isDigest(digest)) throw new UploadError(`upload digest ${JSON.stringify(digest.slice(0, 80))} is not sha256:<64 hex>`);
  const hex = digest.slice(7);
  const dir = join(workspacePaths(workspace).uploads, hex);
  if (memory?.uploads.get(hex)) {
    body.resume();
    return hex;
  }
  if (isDirectory(dir)) {
    body.resume();
    await touch(dir);
    return hex;
  }
  // A small upload (its declared length says so; the limit holds it to that) stays in memory.
  const held = memory !== undefined && memory.declaredBytes > 0 && memory.declaredBytes <= MEMORY_UPLOAD_BYTES ? memory.uploads : undefined;
  const keep = (input: Readable) =>
    held ? hold(held, digest, input, Math.min(limits.maxBytes, MEMORY_UPLOAD_BYTES)) : unpack(workspace, digest, input, limits.maxBytes);
  if (!shared) return keep(body);
  const toTree = new PassThrough();
  const toStore = new PassThrough();
  body.on('error', (error) => {
    toTree.destroy(error);
    toStore.destroy(error);
  });
  body.pipe(toTree);
  body.pipe(toStore);
  // Either side failing stops the other, so neither waits for bytes that will never come.
  const [tree, stored] = await Promise.allSettled([
    keep(toTree).catch((error: unknown) => {
      toStore.destroy(error as Error);
      throw error;
    }),
    shared.putStream(toStore, digest as Digest).catch((error: unknown) => {
      toTree.destroy(error as Error);
      throw error;
    }),
  ]);
  if (tree.status === 'rejected') throw tree.reason;
  if (stored.status === 'rejected') {
    if (held) held.delete(hex);
    else await rm(dir, { recursive: true, force: true });
    throw stored.reason;
  }
  return tree.value;
}

/** Checks a small upload in memory (readSafeTarInMemory) against its digest and holds its tree; resolves with the hex. */
async function hold(uploads: MemoryUploads, digest: string, body: Readable, maxBytes: number): Promise<string> {
  const result = await readSafeTarInMemory(body, { label: `upload ${digest.slice(0, 19)}…`, limits: { maxBytes } });
  if (result.digest !== digest) {
    throw new UploadError(`upload does not match its digest: expected ${digest}, got ${result.digest} (${result.bytes} bytes received)`);
  }
  const hex = digest.slice(7);
  uploads.put(hex, result.entries, result.bytes);
  return hex;
}

/** Unpacks a tar stream into `.bake/uploads/<hex>/` through readSafeTar, checking its digest; resolves with the hex. */
async function unpack(workspace: string, digest: string, body: Readable, maxBytes: number): Promise<string> {
  const hex = digest.slice(7);
  const root = workspacePaths(workspace).uploads;
  const dir = join(root, hex);
  // Synchronous, like isDirectory: it is there but for the first upload.
  mkdirSync(root, { recursive: true });
  const tmp = join(root, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let moved = false;
  try {
    const result = await readSafeTar(body, tmp, { label: `upload ${digest.slice(0, 19)}…`, limits: { maxBytes } });
    if (result.digest !== digest) {
      throw new UploadError(`upload does not match its digest: expected ${digest}, got ${result.digest} (${result.bytes} bytes received)`);
    }
    try {
      await rename(tmp, dir);
      moved = true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // An identical upload finished first: the same bytes, so the same tree. Keep that one.
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !isDirectory(dir)) throw error;
      await touch(dir);
    }
    return hex;
  } finally {
    if (!moved) await rm(tmp, { recursive: true, force: true });
  }
}

/** Where an upload's tree is: unpacked in a directory, or held in memory (small ones: memory-uploads.ts). */
export type UploadedSource = { dir: string } | { entries: readonly TreeEntry[] };

/**
 * The tree of an earlier upload, named by the hex of its digest: held in `memory`, or its
 * directory. The name is checked before it touches a path, so a caller can only ever reach
 * `.bake/uploads/<64 hex>/`. An upload made to another replica is unpacked here from `shared` (the
 * blob registry) when it holds it. Throws UploadError when it is malformed, UploadMissingError when
 * it is not here (nor shared).
 */
export async function uploadedTree(workspace: string, hex: string, shared?: LayoutStore, memory?: MemoryUploads): Promise<UploadedSource> {
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new UploadError(`upload ${JSON.stringify(hex.slice(0, 80))} is not the 64 hex digits of a digest`);
  const entries = memory?.get(hex);
  if (entries) return { entries };
  const dir = join(workspacePaths(workspace).uploads, hex);
  if (isDirectory(dir)) return { dir };
  const digest = `sha256:${hex}` as Digest;
  // A registry that cannot be reached is as good as one without it: the client can upload again.
  if (!shared || !(await shared.has(digest).catch(() => false))) throw new UploadMissingError([hex]);
  await unpack(workspace, digest, shared.openRead(digest), SHARED_MAX_BYTES);
  return { dir };
}

/**
 * Removes the half-written uploads a dead service process left (a crash mid-upload), keeping
 * those of a live process. Run when the service starts. Resolves with how many it removed.
 */
export async function removeStaleUploads(workspace: string): Promise<number> {
  const root = workspacePaths(workspace).uploads;
  let removed = 0;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const match = TEMP.exec(name);
    if (!match) continue;
    const pid = match[1] !== undefined ? Number(match[1]) : undefined;
    if (pid !== undefined && pid !== process.pid && isProcessAlive(pid)) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/**
 * Synchronous on purpose: a stat takes a few µs, a thread-pool round trip ~60 µs more (on the
 * machines measured), and every upload and commit asks at least once.
 */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

/** Marks an upload as just used: gc removes only uploads older than its grace period. */
async function touch(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now).catch(() => undefined);
}
