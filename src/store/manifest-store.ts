import type { LockHolder } from '../lock/file-lock.js';
import type { VersionManifest } from '../manifest/model.js';

/**
 * Where the version manifest lives: the one interface every command reads and writes it through.
 * Implementations: the embedded SQLite file (default, `.bake/state.db`), PostgreSQL (shared by many
 * hosts), and the original JSON file (`.bake/manifest.json`, kept for workspaces made before).
 * Each keeps the same records and the same guarantees: a write is all-or-nothing, writes are
 * serialized against every other writer (the gate's checks and the record happen in the same
 * transaction), and the generation grows by exactly one per write.
 */
export interface ManifestStore {
  /** Which backend, and where (`sqlite /ws/.bake/state.db`). */
  readonly description: string;
  /**
   * Read-modify-write. `fn` gets the manifest, may mutate it, and says whether to write; on a write
   * the generation grows by one (records written in it carry `manifest.generation + 1`). On any
   * throw nothing is written. `fn` may run more than once (a database backend runs it again after
   * reading rows it touched for the first time), so it must have no effects besides on the
   * manifest it is given, other than idempotent ones (tagging a ref to the same digest).
   * Throws LockError when the write lock cannot be had in time, ManifestError for an unreadable store.
   */
  update<T>(options: UpdateOptions, fn: (manifest: VersionManifest, signal: AbortSignal) => Promise<UpdateOutcome<T>>): Promise<T>;
  /**
   * The committed manifest to read from: lazy (rows read when touched) where the backend reads
   * synchronously, else the whole snapshot. Prefer `view` on hot paths: it is lazy everywhere.
   */
  read(): Promise<VersionManifest>;
  /** Runs `fn` against the committed manifest, reading only what it touches. `fn` may run more than once. */
  view<T>(fn: (manifest: VersionManifest) => T | Promise<T>): Promise<T>;
  /** The whole manifest as plain objects (export, log, garbage collection): its cost grows with history. */
  snapshot(): Promise<VersionManifest>;
  /** The generation, cheaply. */
  generation(): Promise<number>;
  /** Replaces an empty store's content with `manifest` in one write (bake migrate). Refuses a store that holds records. */
  import(manifest: VersionManifest): Promise<void>;
  close(): Promise<void>;
}

export interface UpdateOutcome<T> {
  result: T;
  write: boolean;
}

export interface UpdateOptions {
  /** Why the write lock is taken, shown to whoever waits for it. */
  purpose: string;
  /** Called once if the write must wait for another writer (with the holder when the backend knows it). */
  onWait?: (holder: LockHolder | undefined) => void;
  /** File store only: a holder that stopped refreshing its lock this long ago is considered dead. */
  staleMs?: number;
  /** Give up waiting for the write lock after this long. */
  timeoutMs?: number;
}
