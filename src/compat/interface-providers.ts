import type { VersionManifest } from '../manifest/model.js';

/**
 * Service → version → the major of `name` that version provides (null: it does not provide it),
 * for every committed version of every service that provides `name` in some version. A toggle that
 * requires an interface carries this table to the router, which knows only version vectors.
 */
export type ProviderTable = Record<string, Record<string, number | null>>;

/** The provider table of interface `name` from the manifest's recorded declarations. */
export function interfaceProviders(manifest: VersionManifest, name: string): ProviderTable {
  const table: ProviderTable = {};
  for (const [service, history] of Object.entries(manifest.services)) {
    if (!history.versions.some((v) => v.provides?.[name] !== undefined)) continue;
    table[service] = Object.fromEntries(history.versions.map((v) => [String(v.version), v.provides?.[name] ?? null]));
  }
  return table;
}
