import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from 'yaml';
import { InputError, type Problem } from '../errors.js';

/**
 * The owner of the `yaml` package. Parses a file keeping every node's position, so validation
 * can say file:line:column for each problem. Syntax errors are reported all at once.
 */

/** A YAML value with where it was written. */
export type YamlValue =
  | { kind: 'map'; entries: { key: string; keyPos: Position; value: YamlValue }[]; pos: Position }
  | { kind: 'seq'; items: YamlValue[]; pos: Position }
  | { kind: 'scalar'; value: unknown; pos: Position }
  | { kind: 'null'; pos: Position };

export interface Position {
  line: number;
  column: number;
}

/** Reads and parses `path`; `display` names it in problems. Throws InputError on syntax errors. */
export async function readYamlFile(path: string, display: string): Promise<YamlValue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError([{ file: display, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }], { cause: error });
  }
  return parseYaml(text, display);
}

/** Parses YAML text. Throws InputError listing every syntax error with its position. */
export function parseYaml(text: string, display: string): YamlValue {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): Position => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => ({ file: display, ...at(e.pos[0]), message: `YAML syntax: ${e.message.split('\n')[0]}`, fix: 'fix the YAML syntax at this position' }));
    throw new InputError(problems);
  }
  const convert = (node: Node | Pair | null | undefined, fallback: number): YamlValue => {
    if (node === null || node === undefined) return { kind: 'null', pos: at(fallback) };
    const start = (node as Node).range?.[0] ?? fallback;
    if (isMap(node)) {
      return {
        kind: 'map',
        pos: at(start),
        entries: node.items.map((pair) => {
          const keyNode = pair.key as Node | null;
          const keyStart = keyNode?.range?.[0] ?? start;
          return { key: String(isScalar(keyNode) ? keyNode.value : keyNode), keyPos: at(keyStart), value: convert(pair.value as Node | null, keyStart) };
        }),
      };
    }
    if (isSeq(node)) return { kind: 'seq', pos: at(start), items: node.items.map((item) => convert(item as Node, start)) };
    if (isScalar(node)) return node.value === null ? { kind: 'null', pos: at(start) } : { kind: 'scalar', value: node.value, pos: at(start) };
    return { kind: 'scalar', value: String(node), pos: at(start) };
  };
  return convert(doc.contents as Node | null, 0);
}

/** The plain JavaScript value of a YAML value (mappings become objects). */
export function toPlain(value: YamlValue): unknown {
  switch (value.kind) {
    case 'map':
      return Object.fromEntries(value.entries.map((e) => [e.key, toPlain(e.value)]));
    case 'seq':
      return value.items.map(toPlain);
    case 'scalar':
      return value.value;
    case 'null':
      return null;
  }
}

/** The value at a key of a mapping, if present. */
export function child(value: YamlValue | undefined, key: string | number): YamlValue | undefined {
  if (value?.kind === 'map' && typeof key === 'string') return value.entries.find((e) => e.key === key)?.value;
  if (value?.kind === 'seq' && typeof key === 'number') return value.items[key];
  return undefined;
}
