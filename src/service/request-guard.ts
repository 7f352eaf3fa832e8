import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Keeps the service from being driven by a web page. A browser lets any page send a request to
 * 127.0.0.1 (a "simple" POST needs no preflight), and DNS rebinding lets a page's own host name
 * resolve to 127.0.0.1; a bearer token does not help with --no-auth. Three checks, made before
 * the token and whatever the token is: the Host header must name this service, an Origin header
 * (browsers send one) must be this service's own, and a body must be JSON or tar, which no HTML
 * form can send without a preflight this service never answers.
 */
export interface GuardOptions {
  /** The port the service listens on. */
  port: number;
  /** Whether it speaks https (for the origin it compares against). */
  tls: boolean;
  /** More names it answers to (`bake serve --allow-host`): `NAME` (any port) or `NAME:PORT`. */
  allowHosts: readonly string[];
}

/** The content type each endpoint takes a body in. */
const BODY_TYPES: Record<string, string> = { '/v1/commands': 'application/json', '/v1/uploads': 'application/x-tar' };

/** Throws HttpError 403 for a foreign Host or Origin, 415 for a body of any other type. */
export function guardRequest(req: IncomingMessage, pathname: string, options: GuardOptions): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowedHost(host, options)) {
    throw new HttpError(
      403,
      `this bake service does not answer to the host ${JSON.stringify(host.slice(0, 100))}; ` +
        `use http(s)://127.0.0.1:${options.port} (a proxy's name can be allowed with bake serve --allow-host NAME)`,
    );
  }
  const origin = req.headers.origin;
  const own = `${options.tls ? 'https' : 'http'}://${host}`;
  if (origin !== undefined && origin.toLowerCase() !== own) {
    const shown = JSON.stringify(origin.slice(0, 100));
    throw new HttpError(403, `cross-origin requests are refused (Origin ${shown}); bake clients send no Origin`);
  }
  // Browsers also say where a request comes from: same-origin and user-typed requests pass, and a
  // link followed from another site (a GET navigation, which changes nothing); no other cross-site one.
  const site = req.headers['sec-fetch-site'];
  const navigation = (req.method === 'GET' || req.method === 'HEAD') && req.headers['sec-fetch-mode'] === 'navigate';
  if (site !== undefined && site !== 'same-origin' && site !== 'none' && !navigation) {
    throw new HttpError(403, `cross-site requests are refused (Sec-Fetch-Site: ${String(site).slice(0, 40)})`);
  }
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const wanted = BODY_TYPES[pathname];
  if (type !== 'application/json' && type !== 'application/x-tar') {
    const shown = JSON.stringify(type.slice(0, 100));
    throw new HttpError(415, `a request body must be application/json (commands) or application/x-tar (uploads), not ${shown}`);
  }
  if (wanted !== undefined && type !== wanted) throw new HttpError(415, `${pathname} takes ${wanted}, not ${type}`);
}

function allowedHost(host: string, options: GuardOptions): boolean {
  if (host === `127.0.0.1:${options.port}` || host === `localhost:${options.port}`) return true;
  const name = host.replace(/:\d+$/, '');
  return options.allowHosts.some((allowed) => {
    const entry = allowed.toLowerCase();
    return /:\d+$/.test(entry) ? entry === host : entry === name;
  });
}
