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
  /**
   * The names it answers to with its own port (listen-address.ts listenerHosts): the loopback
   * names, and the address it listens on (every interface's, for 0.0.0.0). Default: the loopback names.
   */
  listenHosts?: readonly string[];
}

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The content type each endpoint takes a body in. */
const BODY_TYPES: Record<string, string> = { '/v1/commands': 'application/json', '/v1/uploads': 'application/x-tar' };

/** Throws HttpError 403 for a foreign Host or Origin, 415 for a body of any other type. */
export function guardRequest(req: IncomingMessage, pathname: string, options: GuardOptions): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowedHost(host, options)) {
    throw new HttpError(
      403,
      `this bake service does not answer to the host ${JSON.stringify(host.slice(0, 100))}; ` +
        `use http(s)://${ownHost(options)}:${options.port} ` +
        "(a proxy's or load balancer's name can be allowed with bake serve --allow-host NAME)",
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
  // A Host without a port names the scheme's default port (a listener on 443 reached as https://NAME).
  const defaultPort = options.port === (options.tls ? 443 : 80);
  for (const own of options.listenHosts ?? LOOPBACK_HOSTS) {
    if (host === `${own}:${options.port}` || (defaultPort && host === own)) return true;
  }
  const name = host.replace(/:\d+$/, '');
  return options.allowHosts.some((allowed) => {
    const entry = allowed.toLowerCase();
    return /:\d+$/.test(entry) ? entry === host : entry === name;
  });
}

/** The name to suggest: the address it listens on, else 127.0.0.1. */
function ownHost(options: GuardOptions): string {
  return (options.listenHosts ?? []).find((h) => !LOOPBACK_HOSTS.includes(h)) ?? '127.0.0.1';
}
