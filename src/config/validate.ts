import type { Problem } from '../util/errors.js';
import { discriminator, withDefaults, type Infer, type Spec } from './spec-builder.js';
import { toPlain, type Position, type YamlNode } from './yaml-node.js';

/**
 * Checks a parsed YAML tree against a spec and returns every problem found, in document order,
 * each with its position, dotted field path and a fix. It never throws and never stops at the
 * first problem: a user fixing a file should see the whole list at once.
 */
export function validate(root: YamlNode, spec: Spec, file: string): Problem[] {
  if (root.kind === 'null' && spec.type === 'object') {
    // An empty file is not "a mapping expected, got nothing" to its author: say what to write.
    const required = spec.required ?? [];
    return [
      {
        file,
        line: 1,
        column: 1,
        message: `${file} is empty`,
        fix:
          required.length > 0
            ? `add ${required.map((k) => `${k}:`).join(' and ')}${spec.description ? ` — ${spec.description}` : ''}`
            : 'remove the file',
      },
    ];
  }
  const problems: Problem[] = [];
  check(root, spec, '', (pos, field, message, fix) => problems.push({ file, ...pos, ...(field !== '' && { field }), message, fix }));
  return problems;
}

/**
 * The typed value of a tree that `validate(root, spec)` found no problem in, with the spec's
 * defaults filled in. This is where the validated YAML is trusted: call it only after validation.
 */
export function validated<S extends Spec>(root: YamlNode, spec: S): Infer<S> {
  return withDefaults(spec, toPlain(root)) as Infer<S>;
}

type Report = (pos: Position, field: string, message: string, fix: string) => void;

/** `parent.key`, quoting keys that would make the dotted path ambiguous (label keys hold dots). */
export function fieldPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent === '' ? part : `${parent}.${part}`;
}

/** What a node is, for "expected X, got Y" messages. */
function describe(node: YamlNode): string {
  switch (node.kind) {
    case 'map':
      return 'mapping';
    case 'seq':
      return 'list';
    case 'null':
      return 'nothing';
    case 'scalar': {
      const v = node.value;
      // A long block of text would bury the message; its start is enough to recognise it.
      if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
      if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
      return 'binary data';
    }
  }
}

/** `required`: the value belongs to a key that must stay, so an empty one is not fixed by removing it. */
function check(node: YamlNode, spec: Spec, field: string, report: Report, required = false): void {
  const wrongType = (expected: string, fix: string) =>
    report(
      node.pos,
      field,
      `expected ${expected}, got ${describe(node)}`,
      node.kind === 'null' ? `give it ${expected}${required ? '' : ', or remove the key'}` : fix,
    );
  switch (spec.type) {
    case 'string': {
      if (node.kind !== 'scalar' || typeof node.value !== 'string') {
        // YAML reads `8080`, `true` and `1.0` as non-strings; quoting is almost always what was meant.
        const plain = node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'boolean');
        return wrongType('a string', plain ? `quote it: "${String(node.value)}"` : 'write a single text value');
      }
      if (spec.enum && !spec.enum.includes(node.value)) {
        const near = closest(node.value, spec.enum);
        return report(
          node.pos,
          field,
          `unknown value ${JSON.stringify(node.value)}`,
          near ? `did you mean ${JSON.stringify(near)}? The values are: ${spec.enum.join(', ')}` : `use one of: ${spec.enum.join(', ')}`,
        );
      }
      if (spec.pattern && !spec.pattern.regex.test(node.value)) {
        return report(node.pos, field, `${JSON.stringify(node.value)} is not ${spec.pattern.says}`, `write ${spec.pattern.says}`);
      }
      return;
    }
    case 'integer': {
      const range = `from ${spec.minimum ?? '-∞'} to ${spec.maximum ?? '∞'}`;
      if (node.kind === 'scalar' && typeof node.value === 'string' && /^\s*-?\d+\s*$/.test(node.value)) {
        return wrongType('a whole number', `write it without quotes: ${node.value.trim()}`);
      }
      if (node.kind !== 'scalar' || typeof node.value !== 'number' || !Number.isInteger(node.value))
        return wrongType('a whole number', `write a whole number ${range}`);
      if ((spec.minimum !== undefined && node.value < spec.minimum) || (spec.maximum !== undefined && node.value > spec.maximum)) {
        return report(node.pos, field, `${node.value} is out of range`, `use a number ${range}`);
      }
      return;
    }
    case 'boolean':
      if (node.kind !== 'scalar' || typeof node.value !== 'boolean') wrongType('true or false', 'write true or false, without quotes');
      return;
    case 'array':
      return checkArray(node, spec, field, report, wrongType, required);
    case 'map': {
      if (node.kind !== 'map') return wrongType('a mapping', 'write it as indented `key: value` lines, or as {key: value}');
      for (const entry of node.entries) {
        const path = fieldPath(field, entry.key);
        if (spec.keys && !spec.keys.regex.test(entry.key))
          report(entry.keyPos, path, `invalid name ${JSON.stringify(entry.key)}`, `use ${spec.keys.says}`);
        check(entry.value, spec.values, path, report);
      }
      return;
    }
    case 'object':
      return checkObject(node, spec, field, report, wrongType);
    case 'oneOf':
      return checkOneOf(node, spec, field, report);
  }
}

function checkArray(
  node: YamlNode,
  spec: Extract<Spec, { type: 'array' }>,
  field: string,
  report: Report,
  wrongType: (expected: string, fix: string) => void,
  required: boolean,
): void {
  if (node.kind !== 'seq') {
    // A lone scalar where a list is expected is the common slip: `services: catalog`.
    const one = node.kind === 'scalar' ? `[${String(node.value)}]` : '[a, b]';
    return wrongType('a list', `write it as ${one} or as lines starting with "- "`);
  }
  if (spec.minItems !== undefined && node.items.length < spec.minItems) {
    report(
      node.pos,
      field,
      `needs at least ${spec.minItems} item${spec.minItems === 1 ? '' : 's'}`,
      `list at least ${spec.minItems}${required ? '' : ', or remove the key'}`,
    );
  }
  const seen = new Map<string, number>();
  node.items.forEach((item, i) => {
    const path = fieldPath(field, i);
    check(item, spec.items, path, report);
    if (!spec.unique || item.kind !== 'scalar') return;
    const key = JSON.stringify(item.value);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else report(item.pos, path, `${key} is listed twice (also ${fieldPath(field, first)})`, 'remove the duplicate');
  });
}

function checkObject(
  node: YamlNode,
  spec: Extract<Spec, { type: 'object' }>,
  field: string,
  report: Report,
  wrongType: (expected: string, fix: string) => void,
): void {
  if (node.kind !== 'map')
    return wrongType('a mapping', `write it as indented \`key: value\` lines with keys among: ${Object.keys(spec.properties).join(', ')}`);
  const known = Object.keys(spec.properties);
  for (const entry of node.entries) {
    const path = fieldPath(field, entry.key);
    // hasOwn: `constructor` or `toString` must be unknown keys, not Object.prototype's members.
    const fieldSpec = Object.hasOwn(spec.properties, entry.key) ? spec.properties[entry.key] : undefined;
    if (fieldSpec === undefined) {
      const near = closest(entry.key, known);
      report(
        entry.keyPos,
        path,
        `unknown key ${JSON.stringify(entry.key)}`,
        near ? `did you mean ${JSON.stringify(near)}?` : `remove it; the keys here are: ${known.join(', ')}`,
      );
      continue;
    }
    check(entry.value, fieldSpec, path, report, spec.required?.includes(entry.key) ?? false);
  }
  for (const name of spec.required ?? []) {
    if (node.entries.some((e) => e.key === name)) continue;
    const about = spec.properties[name]?.description;
    report(
      node.pos,
      fieldPath(field, name),
      `missing required key ${JSON.stringify(name)}`,
      `add ${name}:${field === '' ? '' : ` to ${field}`}${about ? ` — ${about}` : ''}`,
    );
  }
}

function checkOneOf(node: YamlNode, spec: Extract<Spec, { type: 'oneOf' }>, field: string, report: Report): void {
  const expected = `expected ${spec.says}`;
  if (node.kind === 'scalar') {
    const scalar = spec.options.find((o) => o.type === 'string' || o.type === 'integer' || o.type === 'boolean');
    if (!scalar) return report(node.pos, field, `${expected}, got ${describe(node)}`, `write ${spec.says}`);
    // The option's own fix ("use one of: scratch") tells only part of the story; say all of it.
    let failed = false;
    check(node, scalar, field, () => (failed = true));
    if (failed) report(node.pos, field, `${expected}, got ${describe(node)}`, `write ${spec.says}`);
    return;
  }
  if (node.kind !== 'map') return report(node.pos, field, `${expected}, got ${describe(node)}`, `write ${spec.says}`);
  const objects = spec.options.filter((o): o is Extract<Spec, { type: 'object' }> => o.type === 'object');
  const chosen = objects.filter((o) => node.entries.some((e) => e.key === discriminator(o)));
  if (chosen.length === 1 && chosen[0]) return check(node, chosen[0], field, report);
  if (chosen.length > 1) {
    const keys = chosen.map(discriminator);
    return report(node.pos, field, `${keys.join(' and ')} cannot be combined`, `keep one: ${spec.says}`);
  }
  if (node.entries.length === 0) return report(node.pos, field, `${expected}, got an empty mapping`, `write ${spec.says}`);
  // No shape recognised: point at each key that belongs to none, with the nearest real key.
  const discriminators = objects.map(discriminator);
  for (const entry of node.entries) {
    const path = fieldPath(field, entry.key);
    const owners = objects.filter((o) => Object.hasOwn(o.properties, entry.key)).map(discriminator);
    if (owners.length > 0) {
      report(entry.keyPos, path, `${entry.key} needs ${owners.join(' or ')} beside it`, `write ${spec.says}`);
      continue;
    }
    const near = closest(entry.key, discriminators);
    report(
      entry.keyPos,
      path,
      `unknown key ${JSON.stringify(entry.key)}`,
      near ? `did you mean ${JSON.stringify(near)}? Write ${spec.says}` : `write ${spec.says}`,
    );
  }
}

/** The candidate closest to `name` by edit distance, if it is close enough to be a typo of it. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // About a third of the name may be wrong, at least one edit, but never all of it: `c` is not a typo of `a`.
  const allowed = Math.max(1, Math.min(3, Math.floor(name.length / 3)));
  return bestDistance <= allowed && bestDistance < name.length ? best : undefined;
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: the optimal
 * string alignment distance. Swaps count once because `lihgt` is one slip, not two.
 */
export function editDistance(a: string, b: string): number {
  let previous: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (previous[j - 2] ?? 0) + 1);
      next.push(d);
    }
    [previous, row] = [row, next];
  }
  return row[b.length] ?? 0;
}
