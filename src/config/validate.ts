import type { Problem } from '../errors.js';
import type { Spec } from './spec.js';
import type { YamlValue } from './yaml-document.js';

/**
 * Checks a parsed YAML value against a spec and returns every problem found (never stops at the
 * first), each with the position, the dotted field path and a fix.
 */
export function validate(value: YamlValue, spec: Spec, file: string, field = ''): Problem[] {
  const problems: Problem[] = [];
  check(value, spec, field, (p) => problems.push({ file, line: p.line, column: p.column, ...(p.field ? { field: p.field } : {}), message: p.message, ...(p.fix ? { fix: p.fix } : {}) }));
  return problems;
}

type Report = (p: { line: number; column: number; field: string; message: string; fix?: string }) => void;

function typeName(value: YamlValue): string {
  if (value.kind === 'scalar') return Array.isArray(value.value) ? 'list' : typeof value.value === 'number' ? 'number' : typeof value.value;
  return value.kind === 'map' ? 'mapping' : value.kind === 'seq' ? 'list' : 'nothing';
}

function check(value: YamlValue, spec: Spec, field: string, report: Report): void {
  const at = { line: value.pos.line, column: value.pos.column, field };
  const wrongType = (wanted: string, fix?: string) =>
    report({ ...at, message: `expected ${wanted}, got ${typeName(value)}`, ...(fix !== undefined ? { fix } : {}) });
  switch (spec.type) {
    case 'any':
      return;
    case 'string': {
      if (value.kind !== 'scalar' || typeof value.value !== 'string') {
        if (value.kind === 'scalar' && (typeof value.value === 'number' || typeof value.value === 'boolean')) {
          return wrongType('a string', `quote it: "${String(value.value)}"`);
        }
        return wrongType('a string');
      }
      if (spec.enum && !spec.enum.includes(value.value)) {
        return report({ ...at, message: `${JSON.stringify(value.value)} is not allowed`, fix: `use one of: ${spec.enum.join(', ')}` });
      }
      if (spec.pattern && !spec.pattern.test(value.value)) {
        return report({ ...at, message: `${JSON.stringify(value.value)} is not valid`, fix: `use ${spec.patternHint ?? `a value matching ${spec.pattern}`}` });
      }
      return;
    }
    case 'integer': {
      if (value.kind === 'scalar' && typeof value.value === 'string' && /^\d+$/.test(value.value)) return wrongType('a whole number', `write it without quotes: ${value.value}`);
      if (value.kind !== 'scalar' || typeof value.value !== 'number' || !Number.isInteger(value.value)) return wrongType('a whole number');
      if ((spec.minimum !== undefined && value.value < spec.minimum) || (spec.maximum !== undefined && value.value > spec.maximum)) {
        return report({ ...at, message: `${value.value} is out of range`, fix: `use a number from ${spec.minimum ?? '-∞'} to ${spec.maximum ?? '∞'}` });
      }
      return;
    }
    case 'boolean':
      if (value.kind !== 'scalar' || typeof value.value !== 'boolean') wrongType('true or false');
      return;
    case 'array': {
      if (value.kind !== 'seq') return wrongType('a list', 'write it as [a, b] or as lines starting with "- "');
      if (spec.minItems !== undefined && value.items.length < spec.minItems) report({ ...at, message: `needs at least ${spec.minItems} item(s)`, fix: 'add items' });
      const seen = new Map<string, number>();
      value.items.forEach((item, i) => {
        check(item, spec.items, `${field}[${i}]`, report);
        if (spec.unique && item.kind === 'scalar') {
          const key = JSON.stringify(item.value);
          if (seen.has(key)) report({ line: item.pos.line, column: item.pos.column, field: `${field}[${i}]`, message: `${key} is listed twice`, fix: 'remove the duplicate' });
          seen.set(key, i);
        }
      });
      return;
    }
    case 'map': {
      if (value.kind !== 'map') return wrongType('a mapping', 'write it as key: value lines');
      for (const entry of value.entries) {
        const child = field ? `${field}.${entry.key}` : entry.key;
        if (spec.keyPattern && !spec.keyPattern.test(entry.key)) {
          report({ line: entry.keyPos.line, column: entry.keyPos.column, field: child, message: `invalid name ${JSON.stringify(entry.key)}`, fix: `use ${spec.keyHint ?? `a name matching ${spec.keyPattern}`}` });
        }
        check(entry.value, spec.values, child, report);
      }
      return;
    }
    case 'object': {
      if (value.kind !== 'map') return wrongType('a mapping', 'write it as key: value lines');
      const known = Object.keys(spec.properties);
      for (const entry of value.entries) {
        const child = field ? `${field}.${entry.key}` : entry.key;
        const fieldSpec = spec.properties[entry.key];
        if (!fieldSpec) {
          const near = closest(entry.key, known);
          report({
            line: entry.keyPos.line,
            column: entry.keyPos.column,
            field: child,
            message: `unknown key ${JSON.stringify(entry.key)}`,
            fix: near ? `did you mean ${JSON.stringify(near)}?` : `known keys: ${known.join(', ')}`,
          });
          continue;
        }
        check(entry.value, fieldSpec, child, report);
      }
      for (const name of spec.required ?? []) {
        if (!value.entries.some((e) => e.key === name)) {
          report({ ...at, field: field ? `${field}.${name}` : name, message: `missing required key ${JSON.stringify(name)}`, fix: `add ${name}:` });
        }
      }
      return;
    }
    case 'oneOf': {
      const option =
        value.kind === 'scalar'
          ? spec.options.find((o) => o.type === 'string')
          : value.kind === 'map'
            ? spec.options.find((o) => o.type === 'object' && value.entries.length > 0 && value.entries.every((e) => e.key in o.properties)) ??
              spec.options.find((o) => o.type === 'object' && value.entries.some((e) => e.key in o.properties))
            : undefined;
      if (!option) return report({ ...at, message: 'not a valid value', fix: spec.hint });
      const before: Parameters<Report>[0][] = [];
      check(value, option, field, (p) => before.push(p));
      for (const p of before) report({ ...p, fix: p.fix ? `${p.fix}; ${spec.hint}` : spec.hint });
      return;
    }
  }
}

/** The known name closest to `name` by edit distance, if it is close enough to be a typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
}
