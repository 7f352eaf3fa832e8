import { ENVIRONMENT_NAME, IMAGE_NAME, SERVICE_NAME } from '../config/names.js';
import { HttpError } from '../service/http-error.js';

/** What a read's query string may say: paging and the filters of the views. */
export interface ReadQuery {
  offset?: number;
  limit?: number;
  build?: number;
  env?: string;
  service?: string;
  image?: string;
  actor?: string;
}

const NAMES: Record<'env' | 'service' | 'image', RegExp> = { env: ENVIRONMENT_NAME, service: SERVICE_NAME, image: IMAGE_NAME };
const MAX_OFFSET = 10_000_000;

/**
 * Checks a read's query string: only the parameters `allowed` names, offset and limit as small
 * whole numbers, names that look like names, an actor as one short line. Throws HttpError(400)
 * naming the parameter; nothing has run yet.
 */
export function parseQuery(params: URLSearchParams, allowed: readonly (keyof ReadQuery)[]): ReadQuery {
  const query: ReadQuery = {};
  for (const [key, value] of params) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw new HttpError(400, `unknown parameter ${JSON.stringify(key.slice(0, 40))} (this view takes ${allowed.join(', ') || 'none'})`);
    }
    if (value === '') continue;
    if (key === 'offset' || key === 'limit' || key === 'build') {
      const n = Number(value);
      const [min, max] = key === 'offset' ? [0, MAX_OFFSET] : key === 'limit' ? [1, 200] : [1, 999_999_999];
      if (!/^\d{1,9}$/.test(value) || n < min || n > max) throw new HttpError(400, `${key} must be a whole number from ${min} to ${max}`);
      query[key] = n;
    } else if (key === 'actor') {
      if (value.length > 256 || /[\0-\x1f\x7f]/.test(value)) throw new HttpError(400, 'actor must be one short line of text');
      query.actor = value;
    } else if (key === 'env' || key === 'service' || key === 'image') {
      if (!NAMES[key].test(value)) throw new HttpError(400, `${key} ${JSON.stringify(value.slice(0, 64))} is not a name`);
      query[key] = value;
    }
  }
  return query;
}
