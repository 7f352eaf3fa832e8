import { shellQuote } from './shell-quote.js';

/**
 * The `NAME=value` words that start a service: its name, its version (a literal, or a shell
 * expression such as "$version"), its port and its own environment. Keys are sorted by code unit,
 * never by locale, so the script is byte-identical on every machine.
 */
export function serviceEnv(service: { name: string; port?: number; env: Record<string, string> }, version: string): string {
  return [
    `BAKE_SERVICE=${shellQuote(service.name)}`,
    `BAKE_SERVICE_VERSION=${version}`,
    ...(service.port !== undefined ? [`PORT=${service.port}`] : []),
    ...Object.keys(service.env)
      .sort()
      .map((k) => `${k}=${shellQuote(service.env[k] ?? '')}`),
  ].join(' ');
}
