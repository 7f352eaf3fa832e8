import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The dependency rule, read from the import lines themselves: cli → app → domain, service → app,
// and the deploy stage receives digests, never the machinery that makes them.
const src = fileURLToPath(new URL('../src', import.meta.url));
const importPattern = /(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)['"](\.[^'"]*)['"]/gm;
const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
/** Every relative import in src/: [importing file, imported file], both relative to src/. */
const edges = files.flatMap((file) =>
  [...readFileSync(join(src, file), 'utf8').matchAll(importPattern)].map((m): [string, string] => [file, join(dirname(file), m[1] ?? '')]),
);
/** The imports from a file whose path matches `from` of a file whose path matches `to`. */
const violations = (from: RegExp, to: RegExp) => edges.filter(([a, b]) => from.test(a) && to.test(b)).map(([a, b]) => `${a} → ${b}`);

describe('dependency rule', () => {
  it.each<[string, RegExp, RegExp]>([
    ['nothing outside cli/ imports cli/', /^(?!cli\/)/, /^cli\//],
    ['app/ never imports cli/', /^app\//, /^cli\//],
    ['service/ never imports cli/', /^service\//, /^cli\//],
    ['domain modules never import app/', /^(?!(cli|service|app|dashboard)\/|index\.ts$)/, /^app\//],
    ['deploy/ never imports image/ (the builder) or publish/', /^deploy\//, /^(image|publish)\//],
  ])('%s', (_rule, from, to) => expect(violations(from, to)).toEqual([]));

  it('service/ reaches the use cases through app/', () => expect(violations(/^service\//, /^app\//)).not.toEqual([]));
  it('sees the import lines it judges', () => expect(violations(/^cli\//, /^config\//)).not.toEqual([]));
});
