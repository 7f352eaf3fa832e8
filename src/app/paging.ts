/** How a read use case is asked for one page of a long list: newest first, `limit` items from `offset`. */
export interface PageOptions {
  offset?: number;
  limit?: number;
}

/** One page of a list, and where it sits in the whole. */
export interface Page<T> {
  total: number;
  offset: number;
  limit: number;
  items: T[];
}

/** The page size when none is asked for, and the largest one served (a page, not the whole history). */
export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 200;

/**
 * The page of `items` that `options` names, with offset and limit clamped to what exists, so a
 * caller that pages past the end gets an empty page rather than an error.
 */
export function pageOf<T>(items: readonly T[], options: PageOptions): Page<T> {
  const limit = Math.min(MAX_PAGE, Math.max(1, Math.trunc(options.limit ?? DEFAULT_PAGE)));
  const offset = Math.max(0, Math.trunc(options.offset ?? 0));
  return { total: items.length, offset, limit, items: items.slice(offset, offset + limit) };
}
