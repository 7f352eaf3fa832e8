import { ManifestError } from '../util/errors.js';
import type { VersionManifest } from '../manifest/model.js';
import { readManifestFile, updateManifestFile } from '../manifest/manifest-file.js';
import type { ManifestStore, UpdateOptions, UpdateOutcome } from './manifest-store.js';

/**
 * The original store: the whole manifest as one JSON file (`.bake/manifest.json`), rewritten
 * atomically under a file lock on every write. Kept for workspaces made before the database
 * (`database: json`); its per-command cost grows with history, which is why SQLite is the default.
 */
export class FileStore implements ManifestStore {
  readonly description: string;

  constructor(readonly file: string) {
    this.description = `json ${file}`;
  }

  update<T>(options: UpdateOptions, fn: (m: VersionManifest, signal: AbortSignal) => Promise<UpdateOutcome<T>>): Promise<T> {
    return updateManifestFile(this.file, options, fn);
  }

  async read(): Promise<VersionManifest> {
    return readManifestFile(this.file);
  }

  async view<T>(fn: (m: VersionManifest) => T | Promise<T>): Promise<T> {
    return fn(await readManifestFile(this.file));
  }

  snapshot(): Promise<VersionManifest> {
    return readManifestFile(this.file);
  }

  async generation(): Promise<number> {
    return (await readManifestFile(this.file)).generation;
  }

  async import(manifest: VersionManifest): Promise<void> {
    await updateManifestFile(this.file, { purpose: 'import a manifest' }, async (current) => {
      if (current.generation > 0) {
        throw new ManifestError(
          `${this.file} already holds records (generation ${current.generation}); bake migrate imports only into an empty store`,
          this.file,
        );
      }
      Object.assign(current, structuredClone(manifest), { generation: manifest.generation - 1 });
      return { result: undefined, write: true };
    });
  }

  async close(): Promise<void> {}
}
