/**
 * The tree the YAML reader (yaml-document.ts) produces: plain values that remember where they
 * were written, so every check can say file:line:column, and small accessors over it.
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
