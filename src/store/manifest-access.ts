import type { VersionManifest } from '../manifest/model.js';
import type { UpdateOptions, UpdateOutcome } from './manifest-store.js';
import { workspaceStore } from './workspace-store.js';

/**
 * The manifest of a workspace, through its store (workspace-store.ts picks which). These are what
 * commands call; see ManifestStore for the guarantees.
 */

/** Read-modify-write in one serialized transaction; `fn` may run more than once (ManifestStore.update). */
export async function updateManifest<T>(
  workspace: string,
  options: UpdateOptions,
  fn: (manifest: VersionManifest, signal: AbortSignal) => Promise<UpdateOutcome<T>>,
): Promise<T> {
  return (await workspaceStore(workspace)).update(options, fn);
}

/** The committed manifest to read from (lazy on SQLite; see ManifestStore.read). */
export async function readManifest(workspace: string): Promise<VersionManifest> {
  return (await workspaceStore(workspace)).read();
}

/** Runs `fn` against the committed manifest, reading only what it touches; `fn` may run more than once. */
export async function viewManifest<T>(workspace: string, fn: (manifest: VersionManifest) => T | Promise<T>): Promise<T> {
  return (await workspaceStore(workspace)).view(fn);
}
