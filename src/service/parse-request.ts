import { ENVIRONMENT_NAME, SERVICE_NAME } from '../config/names.js';
import { IMAGE_NAME } from '../config/spec.js';
import { parseRepository } from '../registry/reference.js';
import { HttpError } from './http-error.js';
import { isRemoteCommand, REQUEST_FIELDS, type Field, type RemoteRequest } from './requests.js';

const MAX_STRING = 4096;
const MAX_LIST = 256;
const HEX = /^[a-f0-9]{64}$/;
/** C0 controls and DEL: recorded text is one printable line. */
const CONTROL = /[\0-\x1f\x7f]/;
/** An image name that loadRecipe cannot take for a recipe file's path (it would for x.yaml). */
const IMAGE = new RegExp(`^(?!.*\\.ya?ml$)${IMAGE_NAME.regex.source.replace(/^\^/, '')}`);
/**
 * How each string option must look, by option name: names of things bake knows, or a registry
 * repository. Never paths. A string option not listed here gets `plain`, so an option added to
 * requests.ts cannot carry a path before someone decides what it may hold.
 */
const CHECKS: Record<string, (value: string) => string | undefined> = {
  image: matches(IMAGE),
  images: matches(IMAGE),
  service: matches(SERVICE_NAME),
  services: matches(SERVICE_NAME),
  env: matches(ENVIRONMENT_NAME),
  push: repository,
  target: repository,
  reason: line,
};
/** A registry as a push names it: a host name or IPv4 address (or [IPv6]), optionally with a port. */
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const REGISTRY_HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::\\d{1,5})?$`);

/**
 * Checks a request body against the remote request types: a known command, only its options,
 * each of the right type and range, names that cannot be paths, uploads named by digest only.
 * Throws HttpError(400) naming what is wrong; nothing has run yet.
 */
export function parseRequest(body: unknown): RemoteRequest {
  if (!isObject(body)) throw bad('expected a JSON object {"command": …, "options": {…}}');
  for (const key of Object.keys(body)) {
    if (!['command', 'options', 'actor'].includes(key))
      throw bad(`unknown field ${JSON.stringify(key)} (expected command, options, actor)`);
  }
  const { command, options = {}, actor } = body;
  if (typeof command !== 'string' || !isRemoteCommand(command)) {
    throw bad(`the service runs ${Object.keys(REQUEST_FIELDS).join(', ')}; not ${typeof command === 'string' ? command : 'nothing'}`);
  }
  if (!isObject(options)) throw bad('options must be a JSON object');
  if (actor !== undefined && (typeof actor !== 'string' || actor.length > 256 || CONTROL.test(actor))) {
    throw bad('actor must be a short line of text');
  }
  const fields: Record<string, Field> = REQUEST_FIELDS[command];
  for (const [key, value] of Object.entries(options)) {
    const field = fields[key];
    if (!field) {
      throw bad(`bake ${command} takes no option ${JSON.stringify(key)} through the service (it takes ${Object.keys(fields).join(', ')})`);
    }
    if (value === undefined || value === null) throw bad(`${command}: ${key} must not be null`);
    const where = `${command}: option ${key}`;
    switch (field.type) {
      case 'boolean':
        if (typeof value !== 'boolean') throw bad(`${where} must be true or false`);
        break;
      case 'integer':
        if (!isWhole(value, field.min, field.max)) throw bad(`${where} must be a whole number from ${field.min} to ${field.max}`);
        break;
      case 'string':
        checkString(value, where, CHECKS[key] ?? plain);
        break;
      case 'strings':
        if (!Array.isArray(value) || value.length > MAX_LIST) throw bad(`${where} must be a list of at most ${MAX_LIST} strings`);
        for (const item of value) checkString(item, where, CHECKS[key] ?? plain);
        break;
      case 'uploads':
        if (!Array.isArray(value) || value.length > MAX_LIST) throw bad(`${where} must be a list of at most ${MAX_LIST} uploaded trees`);
        for (const item of value) checkUpload(item, where);
        break;
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    if (field.type === 'string' && field.required && options[key] === undefined) throw bad(`${command}: option ${key} is required`);
  }
  return { command, options, ...(actor !== undefined && { actor }) } as RemoteRequest;
}

function checkUpload(item: unknown, where: string): void {
  if (!isObject(item)) throw bad(`${where}: each entry must be {"service", "upload", "revision"?, "author"?, "time"?, "proof"?}`);
  for (const key of Object.keys(item)) {
    if (!['service', 'upload', 'revision', 'author', 'time', 'proof'].includes(key)) {
      throw bad(
        `${where}: unknown field ${JSON.stringify(key)}; the service reads no caller's file system: ` +
          'upload the tree (POST /v1/uploads) and name it by digest',
      );
    }
  }
  checkString(item['service'], `${where}.service`, matches(SERVICE_NAME));
  if (typeof item['upload'] !== 'string' || !HEX.test(item['upload'])) {
    throw bad(`${where}.upload must be the 64 hex digits of an upload's sha256 digest`);
  }
  if (item['revision'] !== undefined) checkString(item['revision'], `${where}.revision`, line);
  if (item['author'] !== undefined) checkString(item['author'], `${where}.author`, line);
  const time = item['time'];
  if (time !== undefined && !isWhole(time, 0, 253_402_300_799)) throw bad(`${where}.time must be seconds since 1970`);
  if (item['proof'] !== undefined) checkProof(item['proof'], `${where}.proof`);
}

/** The history gate's proof: `{after: N, ancestry?: descends | behind | missing | diverged}`. */
function checkProof(proof: unknown, where: string): void {
  if (!isObject(proof) || Object.keys(proof).some((k) => k !== 'after' && k !== 'ancestry')) {
    throw bad(`${where} must be {"after": N, "ancestry"?: "descends" | "behind" | "missing" | "diverged"}`);
  }
  if (!isWhole(proof['after'], 0, Number.MAX_SAFE_INTEGER)) throw bad(`${where}.after must be a version number (0: none yet)`);
  const ancestry = proof['ancestry'];
  if (ancestry !== undefined && !['descends', 'behind', 'missing', 'diverged'].includes(ancestry as string)) {
    throw bad(`${where}.ancestry must be descends, behind, missing or diverged`);
  }
}

function checkString(value: unknown, where: string, check: (value: string) => string | undefined): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_STRING || value.includes('\0')) {
    throw bad(`${where} must be a non-empty string of at most ${MAX_STRING} characters`);
  }
  const problem = check(value);
  if (problem !== undefined) throw bad(`${where}: ${JSON.stringify(value.slice(0, 200))} ${problem}`);
}

function matches(pattern: RegExp): (value: string) => string | undefined {
  return (value) => (pattern.test(value) ? undefined : 'is not a name (the service takes names, never paths)');
}

function repository(value: string): string | undefined {
  const says = 'is not REGISTRY/REPOSITORY (e.g. 127.0.0.1:5000/shop)';
  try {
    return REGISTRY_HOST.test(parseRepository(value, {}).registry) ? undefined : says;
  } catch {
    return says;
  }
}

/** Recorded text (a revision, an author): one line, no control characters. */
function line(value: string): string | undefined {
  return CONTROL.test(value) ? 'must be one line without control characters' : undefined;
}

/** Any other string option: text that cannot name a path or pass for a flag. */
function plain(value: string): string | undefined {
  if (CONTROL.test(value) || /[/\\]/.test(value) || value.startsWith('-') || value === '.' || value === '..') {
    return 'must be plain text: no slashes, control characters or leading -';
  }
  return undefined;
}

function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(message: string): HttpError {
  return new HttpError(400, message);
}
