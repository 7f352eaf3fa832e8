import type { CommittedVersion, SchemaDeclaration, VersionManifest } from '../manifest/model.js';

/**
 * What a committed version declares about working with others: the interfaces it provides and
 * requires, and the schema its code needs. Recorded with the version at commit time, so the gate
 * judges every version by what it said when it was committed, never by today's bake.yaml.
 */
export type Declarations = Pick<CommittedVersion, 'provides' | 'requires' | 'schema'>;

/** The declarations of `service` v`version`; undefined when it declares nothing (or is unknown). */
export type DeclarationLookup = (service: string, version: number) => Declarations | undefined;

/** Looks declarations up in a manifest (version n is at index n-1). */
export function declarationsIn(manifest: VersionManifest): DeclarationLookup {
  return (service, version) => {
    const v = manifest.services[service]?.versions[version - 1];
    return v && (v.provides || v.requires || v.schema) ? v : undefined;
  };
}

/** The schema level a version needs applied before it starts: every expand migration up to max(reads, writes). */
export function schemaNeeds(schema: SchemaDeclaration): number {
  return Math.max(schema.reads, schema.writes);
}

/**
 * The newest contract migration a version's code works with: min(reads, writes). Contract K drops
 * what code written against a schema before K uses, so it may run only when every running version
 * tolerates it.
 */
export function schemaTolerates(schema: SchemaDeclaration): number {
  return Math.min(schema.reads, schema.writes);
}

/** The schema declaration with its defaults: reads and writes default to each other, else 0. */
export function schemaOf(fields: {
  reads?: number;
  writes?: number;
  migrations?: Record<string, 'expand' | 'contract'>;
}): SchemaDeclaration {
  const reads = fields.reads ?? fields.writes ?? 0;
  const writes = fields.writes ?? fields.reads ?? 0;
  return { reads, writes, migrations: { ...(fields.migrations ?? {}) } };
}
