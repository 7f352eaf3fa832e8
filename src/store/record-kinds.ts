/**
 * How the version manifest is kept as records. Every list in the manifest is one list of rows,
 * named by its kind and its owner (the service, image or environment it belongs to), one row per
 * record in order (seq 0, 1, 2…), each row the record as JSON. A database backend keeps rows and
 * list lengths; the lazy manifest (lazy-manifest.ts) turns them back into the manifest's shape,
 * loading only the rows a command touches, so a command's cost does not grow with history.
 */

/** The lists of the manifest, by where they live in it. */
export const RECORD_KINDS = [
  'version', // services[owner].versions
  'commit-refusal', // services[owner].refusals
  'revocation', // services[owner].revocations
  'build', // builds[owner]
  'release', // environments[owner].releases
  'refusal', // environments[owner].refusals
  'change', // environments[owner].changes
  'live', // environments[owner].live: a one-row list holding the object
  'interrupted', // interrupted (owner '')
] as const;

export type RecordKind = (typeof RECORD_KINDS)[number];

/** The kinds that make up a service's, an environment's section of the manifest, by property name. */
export const SERVICE_LISTS = { versions: 'version', refusals: 'commit-refusal', revocations: 'revocation' } as const;
export const ENVIRONMENT_LISTS = { releases: 'release', refusals: 'refusal', changes: 'change' } as const;

/**
 * Fields copied into indexed columns, so hot paths can find records without loading a whole list:
 * a build by its digest (is this image already recorded?) and the builds still `current` (which a
 * new commit may make stale). At most two per kind (columns k1 and k2).
 */
export const INDEXED_FIELDS: Partial<Record<RecordKind, readonly [string, string?]>> = {
  build: ['digest', 'status'],
};

/** One stored record. */
export interface RecordRow {
  kind: RecordKind;
  owner: string;
  seq: number;
  body: string;
}

/** A row ready to write, with its indexed columns. */
export interface StoredRow extends RecordRow {
  k1: string | null;
  k2: string | null;
}

/** The indexed column values of a record of `kind`. */
export function indexedColumns(kind: RecordKind, record: unknown): { k1: string | null; k2: string | null } {
  const fields = INDEXED_FIELDS[kind];
  const value = (field: string | undefined) => {
    if (field === undefined || record === null || typeof record !== 'object') return null;
    const v = (record as Record<string, unknown>)[field];
    return typeof v === 'string' ? v : null;
  };
  return { k1: value(fields?.[0]), k2: value(fields?.[1]) };
}

/** Which indexed column holds `field` for `kind`, if any. */
export function indexColumn(kind: RecordKind, field: string): 'k1' | 'k2' | undefined {
  const fields = INDEXED_FIELDS[kind];
  if (fields?.[0] === field) return 'k1';
  if (fields?.[1] === field) return 'k2';
  return undefined;
}

/** The key of one list: kind and owner. */
export function listKey(kind: RecordKind, owner: string): string {
  return `${kind}\u0000${owner}`;
}
