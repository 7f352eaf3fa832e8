import { useEffect, useState } from 'preact/hooks';

/** The views of the page, in the order the navigation lists them. */
export const VIEWS = ['environments', 'services', 'builds', 'refusals', 'history'] as const;
export type ViewName = (typeof VIEWS)[number];

/** Where the page is: a view and its parameters, kept in the URL's fragment (`#/services?service=cart`). */
export interface Route {
  view: ViewName;
  params: URLSearchParams;
}

/** The route a fragment names; anything unknown is the environments view. */
export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const view = (VIEWS as readonly string[]).includes(path) ? (path as ViewName) : 'environments';
  return { view, params: new URLSearchParams(query) };
}

/** The link to a view with these parameters (empty ones left out). */
export function hrefOf(view: ViewName, params: Record<string, string | number | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, String(value));
  const qs = query.toString();
  return `#/${view}${qs ? `?${qs}` : ''}`;
}

/** Goes to a view (a new history entry, so Back works). */
export function go(view: ViewName, params: Record<string, string | number | undefined> = {}): void {
  location.hash = hrefOf(view, params);
}

/** The current route, following Back, Forward and links. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  return route;
}
