import { statSync, type Stats } from 'node:fs';

/**
 * A path's stats, synchronously; undefined when it cannot be stat'ed (missing, or a parent is not
 * a directory, or unreadable). For the few stats every command makes: one costs microseconds,
 * less than the thread pool's round trip an asynchronous one takes.
 */
export function statNow(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}
