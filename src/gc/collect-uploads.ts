import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';

export interface UploadCollection {
  /** Digests (`sha256:…`) of the uploads removed (or, dry, that would be). */
  uploads: string[];
  bytes: number;
}

const UPLOAD = /^[a-f0-9]{64}$/;

/**
 * Removes the trees uploaded to `bake serve` that nothing needs any more: older than `graceMs`
 * (an upload is made moments before the commit that reads it, and is refreshed when sent again)
 * and named by no in-flight request's marker (a commit or build the service is running). Once a
 * commit recorded an upload, the store holds its layer; the upload is only a way there.
 * Half-written uploads (`.tmp-…`) are the service's own to clear.
 */
export async function collectUploads(workspace: string, options: { graceMs: number; dryRun: boolean }): Promise<UploadCollection> {
  const paths = workspacePaths(workspace);
  const names = (await readdir(paths.uploads).catch(() => [] as string[])).filter((name) => UPLOAD.test(name));
  if (names.length === 0) return { uploads: [], bytes: 0 };
  const inUse = await uploadsInFlight(paths.inflight);
  const uploads: string[] = [];
  let bytes = 0;
  for (const name of names) {
    if (inUse.has(name)) continue;
    const dir = join(paths.uploads, name);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory() || Date.now() - info.mtimeMs < options.graceMs) continue;
    bytes += await treeBytes(dir);
    uploads.push(`sha256:${name}`);
    if (!options.dryRun) await rm(dir, { recursive: true, force: true });
  }
  return { uploads, bytes };
}

/** Every upload an in-flight marker names (`"upload": HEX` anywhere in its options). */
async function uploadsInFlight(dir: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    for (const match of text.matchAll(/"upload"\s*:\s*"([a-f0-9]{64})"/g)) if (match[1]) found.add(match[1]);
  }
  return found;
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += (await lstat(path).catch(() => undefined))?.size ?? 0;
  }
  return total;
}
