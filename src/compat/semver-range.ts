import { createRequire } from 'node:module';
import type { Range } from 'semver';

/**
 * The one module that owns `semver`. Interfaces are versioned by their major alone (`provides:
 * {orders-api: 3}`); a requirement is any npm-style range over those majors (`>=2 <4`, `^3`, `3.x`),
 * checked against `MAJOR.0.0`. Parsed ranges and answers are cached: the gate asks the same few
 * questions thousands of times on a large workspace.
 */

type RangeClass = new (range: string) => Range;
let RangeClass: RangeClass | undefined;

/**
 * semver's Range, loaded on first use rather than at start-up: setting semver up (its regular
 * expressions) costs every bake command ~5 ms, and only the gate and toggles need it. In the
 * bundle, esbuild turns this `require` into its own lazily evaluated copy of the module; unbundled
 * ES modules have no `require` and ask Node.
 */
function rangeClass(): RangeClass {
  RangeClass ??= (
    typeof require === 'function' ? require('semver/classes/range.js') : createRequire(import.meta.url)('semver/classes/range.js')
  ) as RangeClass;
  return RangeClass;
}

const ranges = new Map<string, Range | null>();
/** Range text → major → answer: two lookups and no string built per question. */
const answers = new Map<string, Map<number, boolean>>();

/** The range `text` parses to, or undefined when semver cannot read it. Never throws. */
function rangeOf(text: string): Range | undefined {
  let range = ranges.get(text);
  if (range === undefined) {
    try {
      range = new (rangeClass())(text);
    } catch {
      range = null;
    }
    ranges.set(text, range);
  }
  return range ?? undefined;
}

/** Whether `text` is a range semver can read (`>=2 <4`, `^3`, `3.x`, `*`). */
export function isValidRange(text: string): boolean {
  return rangeOf(text) !== undefined;
}

/** Whether an interface's major version `major` is within `range`; an unreadable range admits nothing. */
export function majorSatisfies(major: number, range: string): boolean {
  let byMajor = answers.get(range);
  if (!byMajor) answers.set(range, (byMajor = new Map()));
  let answer = byMajor.get(major);
  if (answer === undefined) {
    answer = rangeOf(range)?.test(`${major}.0.0`) === true;
    byMajor.set(major, answer);
  }
  return answer;
}
