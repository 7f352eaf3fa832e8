import { readFile } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from 'yaml';
import { InputError, type Problem } from '../util/errors.js';

/**
 * The one module that imports `yaml`. It turns a file into a small tree of nodes that remember
 * where they were written, so every later check can say file:line:column. Nothing outside this
 * file sees a `yaml` type: its quirks (aliases, error codes, ranges) stay here.
 */

/** A 1-based line and column in the file. */
export interface Position {
  line: number;
  column: number;
}

/** One `key: value` of a mapping; the key's own position is where unknown-key problems point. */
export interface YamlEntry {
  key: string;
  keyPos: Position;
  value: YamlNode;
}

/** A YAML value and where it was written. Empty values (`key:`, `~`, `null`) are `null` nodes. */
export type YamlNode =
  | { kind: 'map'; pos: Position; entries: YamlEntry[] }
  | { kind: 'seq'; pos: Position; items: YamlNode[] }
  | { kind: 'scalar'; pos: Position; value: unknown }
  | { kind: 'null'; pos: Position };

/**
 * Reads and parses a YAML file; `display` is how problems name it (workspace-relative).
 * Throws InputError when the file cannot be read or is not valid YAML.
 */
export async function readYamlFile(path: string, display: string): Promise<YamlNode> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `cannot read ${display}: no such file` : code === 'EISDIR' ? `cannot read ${display}: it is a directory` : `cannot read ${display}: ${(error as Error).message}`;
    throw new InputError([{ file: display, message }], { cause: error });
  }
  return parseYaml(text, display);
}

/** Parses YAML text. Throws InputError listing every syntax error (and unknown alias) with its position. */
export function parseYaml(text: string, display: string): YamlNode {
  const lines = new LineCounter();
  // uniqueKeys: a repeated key would otherwise silently win over the first, hiding a mistake.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const problems: Problem[] = doc.errors.map((e) => syntaxProblem(e, display, at));
  if (problems.length > 0) throw new InputError(problems);
  const root = convert(doc, doc.contents, 0, at, new Set(), (pos, message, fix) => problems.push({ file: display, ...pos, message, fix }));
  if (problems.length > 0) throw new InputError(problems);
  return root;
}

/** Fixes for the syntax errors people actually make; the library's own message says what is wrong. */
const SYNTAX_FIXES: Record<string, string> = {
  TAB_AS_INDENT: 'indent with spaces; YAML does not allow tabs for indentation',
  DUPLICATE_KEY: 'remove or rename one of the two keys',
  MULTIPLE_DOCS: 'keep one document per file (remove the --- separator)',
  BAD_INDENT: 'line the entries of one mapping up at the same indentation, and close every { and [',
  MISSING_CHAR: 'add the missing character (a closing quote, bracket or brace)',
  BLOCK_AS_IMPLICIT_KEY: 'put the nested value on its own, more indented, lines',
  MULTILINE_IMPLICIT_KEY: 'keep each key on one line and follow it by ": "',
};

function syntaxProblem(error: YAMLError, file: string, at: (offset: number) => Position): Problem {
  const message = error.code === 'DUPLICATE_KEY' ? 'YAML syntax: duplicate key (a key may appear only once in a mapping)' : `YAML syntax: ${error.message.split('\n')[0]}`;
  return { file, ...at(error.pos[0]), message, fix: SYNTAX_FIXES[error.code] ?? 'correct the YAML syntax at this position' };
}

type Complain = (pos: Position, message: string, fix: string) => void;

function convert(doc: Document, node: unknown, fallback: number, at: (offset: number) => Position, active: Set<unknown>, complain: Complain): YamlNode {
  const start = (node as Node | null)?.range?.[0] ?? fallback;
  const pos = at(start);
  if (node === null || node === undefined) return { kind: 'null', pos };
  if (isAlias(node)) {
    // An alias stands for its anchor's value; resolve it here so the checks see plain values.
    const target = node.resolve(doc);
    if (target === undefined) {
      complain(pos, `YAML syntax: unknown alias *${node.source}`, `define &${node.source} before it is used`);
      return { kind: 'null', pos };
    }
    if (active.has(target)) {
      complain(pos, `YAML syntax: alias *${node.source} refers to a value that contains it`, 'remove the self-reference');
      return { kind: 'null', pos };
    }
    active.add(target);
    const value = convert(doc, target, start, at, active, complain);
    active.delete(target);
    return { ...value, pos };
  }
  active.add(node);
  try {
    if (isMap(node)) {
      const entries = node.items.map((pair): YamlEntry => {
        const keyStart = (pair.key as Node | null)?.range?.[0] ?? start;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        // An empty value points at its key: "services.a.build: expected a string, got nothing" then lands on `build`.
        const value = pair.value === null || (isScalar(pair.value) && pair.value.value === null) ? { kind: 'null' as const, pos: at(keyStart) } : convert(doc, pair.value, keyStart, at, active, complain);
        return { key, keyPos: at(keyStart), value };
      });
      return { kind: 'map', pos, entries };
    }
    if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((item) => convert(doc, item, start, at, active, complain)) };
    if (isScalar(node)) return node.value === null ? { kind: 'null', pos } : { kind: 'scalar', pos, value: node.value };
    return { kind: 'scalar', pos, value: String(node) };
  } finally {
    active.delete(node);
  }
}

/** The plain JavaScript value of a node (mappings become objects). Use only after validation. */
export function toPlain(node: YamlNode): unknown {
  switch (node.kind) {
    case 'map':
      return Object.fromEntries(node.entries.map((e) => [e.key, toPlain(e.value)]));
    case 'seq':
      return node.items.map(toPlain);
    case 'scalar':
      return node.value;
    case 'null':
      return null;
  }
}

/** The node at a path of mapping keys and list indexes, if every step exists. */
export function nodeAt(node: YamlNode | undefined, ...path: (string | number)[]): YamlNode | undefined {
  let current = node;
  for (const step of path) {
    if (current?.kind === 'map' && typeof step === 'string') current = current.entries.find((e) => e.key === step)?.value;
    else if (current?.kind === 'seq' && typeof step === 'number') current = current.items[step];
    else return undefined;
  }
  return current;
}

/** The entry (key and value) of a mapping node, if the node is a mapping holding that key. */
export function entryAt(node: YamlNode | undefined, key: string): YamlEntry | undefined {
  return node?.kind === 'map' ? node.entries.find((e) => e.key === key) : undefined;
}

/** The string a node holds, if it is a string scalar: for checks that must run on unvalidated trees. */
export function stringAt(node: YamlNode | undefined): string | undefined {
  return node?.kind === 'scalar' && typeof node.value === 'string' ? node.value : undefined;
}
