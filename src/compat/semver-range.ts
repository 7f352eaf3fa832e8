import semver from 'semver';

/**
 * The one module that owns `semver`. Interfaces are versioned by their major alone (`provides:
 * {orders-api: 3}`); a requirement is any npm-style range over those majors (`>=2 <4`, `^3`, `3.x`),
 * checked against `MAJOR.0.0`. Parsed ranges and answers are cached: the gate asks the same few
 * questions thousands of times on a large workspace.
 */

const ranges = new Map<string, semver.Range | null>();
/** Range text → major → answer: two lookups and no string built per question. */
const answers = new Map<string, Map<number, boolean>>();

/** The range `text` parses to, or undefined when semver cannot read it. Never throws. */
function rangeOf(text: string): semver.Range | undefined {
  let range = ranges.get(text);
  if (range === undefined) {
    try {
      range = new semver.Range(text);
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
