import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One request as a hostile server saw it: which host name it was sent to, and what credentials came with it. */
export interface Seen {
  /** The Host header without the port: `127.0.0.1` or `localhost`. */
  host: string;
  method: string;
  path: string;
  authorization: string | null;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface Collector {
  port: number;
  seen: Seen[];
  /** Everything sent to `host` (by Host header). */
  to(host: string): Seen[];
  stop(): Promise<void>;
}

/**
 * A fake registry or token service on 127.0.0.1 that records every request it gets, so a test
 * can prove which credentials reached which host. The same listener answers as `127.0.0.1` and
 * as `localhost`, two different hosts to a client: `route` decides by the Host header. With
 * `tls`, it speaks https with that key and certificate.
 */
export async function credentialCollector(
  route: (seen: Seen, req: IncomingMessage) => Answer,
  tls?: { key: Buffer; cert: Buffer },
): Promise<Collector> {
  const seen: Seen[] = [];
  const handler = async (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    for await (const _chunk of req) {
      // drain uploads
    }
    const request: Seen = {
      host: (req.headers.host ?? '').replace(/:\d+$/, ''),
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization ?? null,
    };
    seen.push(request);
    const answer = route(request, req);
    res.writeHead(answer.status, answer.headers ?? {}).end(answer.body ?? '');
  };
  const server: Server = tls ? (createTlsServer(tls, handler) as unknown as Server) : createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    to: (host) => seen.filter((s) => s.host === host),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
