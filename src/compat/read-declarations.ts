import { posix } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { interfacesFileSpec } from '../config/spec.js';
import type { ServiceConfig } from '../config/types.js';
import { validate, validated } from '../config/validate.js';
import { parseYaml } from '../config/yaml-document.js';
import { YAML_LIMITS } from '../config/yaml-limits.js';
import type { TreeEntry } from '../tree/tree.js';
import { canonicalJson } from '../util/canonical-json.js';
import { InputError, type Problem } from '../util/errors.js';
import { schemaNeeds, schemaOf, type Declarations } from './declarations.js';
import { isValidRange } from './semver-range.js';

/**
 * Reads what a service version declares, at commit time, so it is recorded with the version:
 * from bake.yaml's `provides`, `requires` and `schema` (reads, writes, migrations), or — with
 * `interfaces: FILE` — from that YAML/JSON file among the files the version installs, so the team
 * that changes the code changes the declaration in the same commit. `schema.migrate` is the
 * operator's host command and stays in bake.yaml, never in the file (an uploaded tree must not
 * name a command the host runs).
 */

/** The inline declarations of bake.yaml that are part of a version's identity (not `migrate`). */
function inline(service: ServiceConfig): Declarations {
  const { migrate: _host, ...levels } = service.schema ?? {};
  const schema = Object.keys(levels).length > 0 ? schemaOf(levels) : undefined;
  return {
    ...(service.provides && Object.keys(service.provides).length > 0 && { provides: service.provides }),
    ...(service.requires && Object.keys(service.requires).length > 0 && { requires: service.requires }),
    ...(schema && { schema }),
  };
}

/**
 * What bake.yaml's inline declarations add to a version's identity: changing them is a new
 * version, as changing its install path is. Empty without inline declarations, so the digests of
 * services that declare nothing inline are what they always were.
 */
export function declarationSalt(service: ServiceConfig): string {
  const declared = inline(service);
  return Object.keys(declared).length === 0 ? '' : `\0bake-declarations-v1\0${canonicalJson(declared)}`;
}

/**
 * The declarations of the version whose files are `entries`. Throws InputError when the file is
 * missing, unreadable or invalid, when a range is not a semver range, when a migration up to what
 * the code needs is undeclared, or when bake.yaml declares inline what the file declares.
 */
export async function declarationsOf(service: ServiceConfig, entries: readonly TreeEntry[]): Promise<Declarations> {
  const field = `services.${service.name}`;
  let declared = inline(service);
  let file = 'bake.yaml';
  if (service.interfaces !== undefined) {
    const path = posix.normalize(service.interfaces);
    file = `${service.sourceAsWritten}/${path}`;
    if (Object.keys(declared).length > 0) {
      throw new InputError([
        {
          file: 'bake.yaml',
          field: `${field}.interfaces`,
          message: `${service.name} declares provides/requires/schema levels both inline and in ${service.interfaces}`,
          fix: `keep them in ${service.interfaces} only (schema.migrate stays in bake.yaml)`,
        },
      ]);
    }
    const entry = entries.find((e) => e.path === path);
    if (entry?.type !== 'file' || (!entry.read && !entry.open)) {
      throw new InputError([
        {
          file: 'bake.yaml',
          field: `${field}.interfaces`,
          message: `${service.interfaces} is not a file among the committed files of ${service.name}`,
          fix: `commit ${file}, or correct the path (it is relative to the service's directory${service.output ? ` and its output ${service.output}` : ''})`,
        },
      ]);
    }
    if (entry.size > YAML_LIMITS.bytes) throw new InputError([{ file, message: `${file} is larger than ${YAML_LIMITS.bytes} bytes` }]);
    const open = entry.open;
    const body = entry.read ? await entry.read() : open ? await buffer(open()) : Buffer.alloc(0);
    const node = parseYaml(body.toString('utf8'), file);
    const problems = validate(node, interfacesFileSpec, file);
    if (problems.length > 0) throw new InputError(problems);
    const value = validated(node, interfacesFileSpec);
    declared = {
      ...(value.provides && { provides: value.provides }),
      ...(value.requires && { requires: value.requires }),
      ...(value.schema && { schema: schemaOf(value.schema) }),
    };
  }
  const problems = checkDeclared(declared, file, service.interfaces === undefined ? field : '');
  if (problems.length > 0) throw new InputError(problems);
  return declared;
}

/** Ranges semver can read, and every migration up to what the code needs named expand or contract. */
function checkDeclared(declared: Declarations, file: string, prefix: string): Problem[] {
  const at = (rest: string) => (prefix ? `${prefix}.${rest}` : rest);
  const problems: Problem[] = [];
  for (const [name, range] of Object.entries(declared.requires ?? {})) {
    if (!isValidRange(range)) {
      problems.push({
        file,
        field: at(`requires.${name}`),
        message: `${JSON.stringify(range)} is not a semver range`,
        fix: 'write a range of major versions such as ">=2 <4", "^3" or "3.x"',
      });
    }
  }
  if (declared.schema) {
    for (let k = 1; k <= schemaNeeds(declared.schema); k++) {
      if (declared.schema.migrations[String(k)] !== undefined) continue;
      problems.push({
        file,
        field: at('schema.migrations'),
        message: `migration ${k} is needed (reads/writes ${schemaNeeds(declared.schema)}) but not declared`,
        fix: `add ${k}: expand (adds only) or ${k}: contract (drops) under migrations`,
      });
    }
  }
  return problems;
}
