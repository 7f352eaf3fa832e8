import type { ReadAnswers } from './api-types.js';
import { parseQuery, type ReadQuery } from './query.js';
import type { Runner } from './runner.js';

interface Route {
  /** The query parameters the view takes. */
  params: readonly (keyof ReadQuery)[];
  run(runner: Runner, query: ReadQuery): Promise<ReadAnswers[keyof ReadAnswers]>;
}

const PAGE = ['offset', 'limit'] as const;

/** Each read of the page, by path: the use case it runs. */
const ROUTES: Record<string, Route> = {
  '/v1/dashboard/environments': { params: [], run: (r) => r('environments-view', {}) },
  '/v1/dashboard/services': { params: ['service', ...PAGE], run: (r, q) => r('versions-view', q) },
  '/v1/dashboard/builds': { params: ['image', 'build', ...PAGE], run: (r, q) => r('builds-view', q) },
  '/v1/dashboard/refusals': { params: PAGE, run: (r, q) => r('refusals-view', q) },
  '/v1/dashboard/history': { params: ['env', 'service', 'actor', ...PAGE], run: (r, q) => r('timeline', q) },
};

/** Answers kept per view and query while the manifest stays the same file: enough for a few people paging. */
const CACHE_ENTRIES = 64;

/** The dashboard's reads: `read(path, params)` answers a known path, or resolves undefined for an unknown one. */
export interface ReadApi {
  read(pathname: string, params: URLSearchParams): Promise<unknown>;
}

/**
 * The JSON reads of the page. Each view is a function of the manifest (and bake.yaml) alone — what
 * the routers see arrives on /v1/events — so its answer is kept until the manifest file changes:
 * several people on one page, or one paging back and forth, cost one read of a year-long
 * manifest, not one each. Throws HttpError(400) for a bad query, and what the use case throws.
 */
export function createReadApi(runner: Runner): ReadApi {
  const cache = new Map<string, { mark: string; answer: unknown }>();
  return {
    async read(pathname, params) {
      const route = ROUTES[pathname];
      if (!route) return undefined;
      const query = parseQuery(params, route.params);
      const key = `${pathname}?${JSON.stringify(Object.entries(query).sort())}`;
      const { mark } = await runner('manifest-generation', {});
      const hit = cache.get(key);
      if (hit?.mark === mark) return hit.answer;
      const answer = await route.run(runner, query);
      cache.delete(key);
      cache.set(key, { mark, answer });
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value ?? key);
      return answer;
    },
  };
}
