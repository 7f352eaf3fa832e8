import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { UsageError } from '../util/errors.js';

/** Where `bake serve` listens: `bake serve --listen ADDR:PORT` (default 127.0.0.1:7878). */
export interface ListenAddress {
  /** What `listen()` binds: an IPv4 or IPv6 address (no brackets), or a host name. */
  host: string;
  port: number;
  /** 127.0.0.0/8, ::1 or localhost: reachable from this machine only. */
  loopback: boolean;
  /** 0.0.0.0 or ::: every address of this machine. */
  wildcard: boolean;
}

const NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * Parses `HOST:PORT`: an IPv4 address, `[IPv6]`, or a host name, then a port (0 picks a free one);
 * `:PORT` alone means every address (0.0.0.0). Throws UsageError naming the accepted forms.
 */
export function parseListenAddress(raw: string, flag = '--listen'): ListenAddress {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/i.exec(raw.trim());
  const host = m ? (m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2])) : undefined;
  const port = m ? Number(m[3]) : Number.NaN;
  const valid = host !== undefined && (m?.[1] !== undefined ? isIPv6(host) : isIPv4(host) || NAME.test(host));
  if (!valid || !Number.isInteger(port) || port > 65_535) {
    throw new UsageError(
      `${flag} takes ADDRESS:PORT (127.0.0.1:7878, 0.0.0.0:7878, [::]:7878, bake.internal:7878, or :7878 for every address), ` +
        `got ${JSON.stringify(raw)}`,
    );
  }
  return listenAddressOf(host, port);
}

/** The address of `host` (an address or a name, IPv6 without brackets) and `port`, as parseListenAddress would give it. */
export function listenAddressOf(host: string, port: number): ListenAddress {
  const lower = host.toLowerCase();
  const loopback = lower === 'localhost' || lower === '::1' || /^127\.\d+\.\d+\.\d+$/.test(lower);
  return { host: lower, port, loopback, wildcard: lower === '0.0.0.0' || lower === '::' };
}

/**
 * Refuses a listener other machines can reach that would speak plain http: a bearer token (and
 * every answer) would cross the network in clear text. `insecureHttp` (bake serve --insecure-http)
 * says a TLS proxy in front or a private network does that job. Throws UsageError with the fix.
 */
export function assertSafeListener(address: ListenAddress, tls: boolean, insecureHttp: boolean): void {
  if (address.loopback || tls || insecureHttp) return;
  throw new UsageError(
    `bake serve: ${shown(address)} is reachable from other machines, and without TLS every token and answer would cross the ` +
      'network in clear text. Pass --tls-cert FILE --tls-key FILE, or --insecure-http when a TLS proxy or load balancer in ' +
      'front of it (or a private network) protects the traffic',
  );
}

/**
 * The host names a request's Host header may carry for this listener (each with the port, see
 * request-guard.ts): the loopback names, the address it listens on, and for a wildcard listener
 * every address of this machine's interfaces. Names of proxies come from --allow-host.
 */
export function listenerHosts(address: ListenAddress): string[] {
  const hosts = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (!address.loopback && !address.wildcard) hosts.add(bracketed(address.host));
  if (address.wildcard) {
    for (const list of Object.values(networkInterfaces())) {
      for (const info of list ?? []) hosts.add(bracketed(info.address.toLowerCase()));
    }
  }
  return [...hosts];
}

/** The URL to print for it: a wildcard listener is shown by its loopback address, which always reaches it. */
export function listenerUrl(address: ListenAddress, port: number, tls: boolean): string {
  const host = address.wildcard ? (address.host === '::' ? '[::1]' : '127.0.0.1') : bracketed(address.host);
  return `${tls ? 'https' : 'http'}://${host}:${port}`;
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function shown(address: ListenAddress): string {
  return `${bracketed(address.host)}:${address.port}`;
}
