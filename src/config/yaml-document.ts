import { Composer, CST, isAlias, isMap, isNode, isPair, isScalar, isSeq, Lexer, LineCounter, Parser, YAMLParseError } from 'yaml';
import type { Alias, Document, Node, Pair, YAMLError } from 'yaml';
import { BakeError, InputError, type Problem } from '../util/errors.js';
import type { Position, YamlEntry, YamlNode } from './yaml-node.js';
import { readLimitedText, tooDeep, tooLarge, tooManyAliasValues, YAML_LIMITS } from './yaml-limits.js';

/**
 * The one module that imports `yaml`: it reads a file into the position-keeping tree of
 * yaml-node.ts. Nothing outside this file sees a `yaml` type, so the library's quirks (aliases,
 * error codes, ranges, and what deep or repetitive input costs it) stay here, and so does the
 * enforcement of the input limits (yaml-limits.ts) that needs its tokens and nodes.
 */

/**
 * Reads and parses a YAML file; `display` is how problems name it (workspace-relative).
 * Throws InputError when the file cannot be read, is not valid YAML, or exceeds a limit.
 */
export async function readYamlFile(path: string, display: string): Promise<YamlNode> {
  return parseYaml(await readLimitedText(path, display), display);
}

/**
 * Parses YAML text. Throws InputError listing every syntax error (duplicate keys and unknown
 * aliases included) with its position, or the one limit (size, depth, alias values) it exceeds.
 */
export function parseYaml(text: string, display: string): YamlNode {
  const bytes = Buffer.byteLength(text);
  if (bytes > YAML_LIMITS.bytes) throw new InputError([tooLarge(display, bytes)]);
  const lines = new LineCounter();
  const at = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const tooDeepAt = (offset: number) => new InputError([tooDeep(display, at(offset))]);
  const doc = composeDocument(text, lines, tooDeepAt);
  // The index throws at the first value too deep; yaml, whose stack ran out deeper down, reports that as an error.
  const { aliases, duplicates } = indexDocument(doc, tooDeepAt);
  const exhausted = doc.errors.find((e) => e.code === 'RESOURCE_EXHAUSTION');
  if (exhausted) throw tooDeepAt(exhausted.pos[0]);
  const problems = doc.errors.map((e) => syntaxProblem(e, display, at));
  if (duplicates.length > 0) {
    for (const offset of duplicates)
      problems.push(syntaxProblem(new YAMLParseError([offset, offset], 'DUPLICATE_KEY', 'duplicate key'), display, at));
    problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  }
  if (problems.length > 0) throw new InputError(problems);
  const converter = new Converter(aliases, at, display);
  const root = converter.convert(doc.contents, 0, 0, undefined);
  if (converter.problems.length > 0) throw new InputError(converter.problems);
  return root;
}

/**
 * What yaml's `parseDocument` does (lexer → parser → composer), watching the tokens on the way:
 * the parser's time and memory grow with nesting, so nesting past the limit is refused before it
 * is parsed. Only what surely nests is counted (flow brackets, and `- `/`? ` indicators sharing a
 * line), so no file within the limit is refused; nesting by indentation is measured once composed.
 */
function composeDocument(text: string, lines: LineCounter, tooDeepAt: (offset: number) => Error): Document.Parsed {
  const parser = new Parser(lines.addNewLine);
  const tokens: CST.Token[] = [];
  let [flow, indicators, atScalar] = [0, 0, false];
  lines.addNewLine(0);
  for (const lexeme of new Lexer().lex(text)) {
    // The lexeme after a scalar marker is the scalar's own text, whatever characters it holds.
    const type = atScalar ? undefined : CST.tokenType(lexeme);
    atScalar = type === 'scalar';
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    else if (type === 'flow-map-end' || type === 'flow-seq-end') flow = Math.max(0, flow - 1);
    else if ((type === 'seq-item-ind' || type === 'explicit-key-ind') && flow === 0) indicators++;
    else if (type === 'newline' && flow === 0) indicators = 0;
    if (flow + indicators > YAML_LIMITS.depth) throw tooDeepAt(parser.offset);
    for (const token of parser.next(lexeme)) tokens.push(token);
  }
  for (const token of parser.end()) tokens.push(token);
  // Duplicate keys are found by indexDocument: yaml's own check compares each key with every other one.
  const composer = new Composer({ uniqueKeys: false });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, text.length)) {
    if (doc === undefined) {
      doc = next;
      continue;
    }
    doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
    break;
  }
  // compose(…, forceDoc = true) yields a document even for empty text.
  if (doc === undefined) throw new BakeError('internal error: yaml composed no document');
  return doc;
}

/** Each alias with the anchored node it stands for, and the offsets of keys repeated in a mapping. */
interface DocumentIndex {
  aliases: Map<Alias, Node>;
  duplicates: number[];
}

/**
 * One walk over the composed document in yaml's order: an alias stands for the last node anchored
 * with its name before it (yaml's own `resolve` walks the whole document again for each alias).
 * Throws the depth limit's error past the limit, which also bounds the walk's recursion.
 */
function indexDocument(doc: Document.Parsed, tooDeepAt: (offset: number) => Error): DocumentIndex {
  const anchors = new Map<string, Node>();
  const index: DocumentIndex = { aliases: new Map(), duplicates: [] };
  const walk = (node: unknown, depth: number): void => {
    if (!isNode(node)) return;
    if (isAlias(node)) {
      const anchor = anchors.get(node.source);
      if (anchor) index.aliases.set(node, anchor);
      return;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    if (!isMap(node) && !isSeq(node)) return;
    if (depth >= YAML_LIMITS.depth) throw tooDeepAt(node.range?.[0] ?? 0);
    const keys = new Set<string>();
    for (const item of node.items) {
      if (!isPair(item)) {
        walk(item, depth + 1);
        continue;
      }
      walk(item.key, depth + 1);
      walk(item.value, depth + 1);
      const key = keyOf(item);
      if (keys.has(key)) index.duplicates.push((item.key as Node | null)?.range?.[0] ?? node.range?.[0] ?? 0);
      keys.add(key);
    }
  };
  walk(doc.contents, 0);
  return index;
}

/** A mapping key as the rest of bake sees it: `1` and `"1"` are one key. */
function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
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
  const message =
    error.code === 'DUPLICATE_KEY'
      ? 'YAML syntax: duplicate key (a key may appear only once in a mapping)'
      : `YAML syntax: ${error.message.split('\n')[0]}`;
  return { file, ...at(error.pos[0]), message, fix: SYNTAX_FIXES[error.code] ?? 'correct the YAML syntax at this position' };
}

/**
 * Turns yaml's nodes into YamlNodes, resolving aliases so the checks see plain values. What
 * aliases stand for counts against the alias limit and towards depth; either limit throws.
 */
class Converter {
  readonly problems: Problem[] = [];
  /** Collections being converted: an alias to one of them would stand for itself. */
  private readonly active = new Set<Node>();
  private expanded = 0;

  constructor(
    private readonly aliases: Map<Alias, Node>,
    private readonly at: (offset: number) => Position,
    private readonly display: string,
  ) {}

  /** `depth`: collections around the node; `alias`: where the alias being expanded is written, if one is. */
  convert(node: unknown, fallback: number, depth: number, alias: Position | undefined): YamlNode {
    const start = (node as Node | null)?.range?.[0] ?? fallback;
    const pos = this.at(start);
    if (alias && ++this.expanded > YAML_LIMITS.aliasValues) throw new InputError([tooManyAliasValues(this.display, alias)]);
    if (node === null || node === undefined) return { kind: 'null', pos };
    if (isAlias(node)) return this.resolve(node, start, depth, alias ?? pos);
    if (isMap(node) || isSeq(node)) {
      if (depth >= YAML_LIMITS.depth) throw new InputError([tooDeep(this.display, alias ?? pos)]);
      this.active.add(node);
      try {
        if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((item) => this.convert(item, start, depth + 1, alias)) };
        return { kind: 'map', pos, entries: node.items.map((pair) => this.entry(pair, start, depth, alias)) };
      } finally {
        this.active.delete(node);
      }
    }
    if (isScalar(node)) return node.value === null ? { kind: 'null', pos } : { kind: 'scalar', pos, value: node.value };
    return { kind: 'scalar', pos, value: String(node) };
  }

  private entry(pair: Pair, start: number, depth: number, alias: Position | undefined): YamlEntry {
    const keyStart = (pair.key as Node | null)?.range?.[0] ?? start;
    // An empty value points at its key: "services.a.build: expected a string, got nothing" then lands on `build`.
    const empty = pair.value === null || (isScalar(pair.value) && pair.value.value === null);
    const value = empty ? { kind: 'null' as const, pos: this.at(keyStart) } : this.convert(pair.value, keyStart, depth + 1, alias);
    return { key: keyOf(pair), keyPos: this.at(keyStart), value };
  }

  private resolve(node: Alias, start: number, depth: number, alias: Position): YamlNode {
    const pos = this.at(start);
    const target = this.aliases.get(node);
    const problem = (message: string, fix: string): YamlNode => {
      this.problems.push({ file: this.display, ...pos, message: `YAML syntax: ${message}`, fix });
      return { kind: 'null', pos };
    };
    if (target === undefined) return problem(`unknown alias *${node.source}`, `define &${node.source} before it is used`);
    if (this.active.has(target)) return problem(`alias *${node.source} refers to a value that contains it`, 'remove the self-reference');
    return { ...this.convert(target, start, depth, alias), pos };
  }
}
