import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { HttpError } from './http-error.js';
import { publicError } from './public-error.js';

/** Largest JSON request body: far beyond any request's options, small enough to hold. */
export const MAX_JSON_BYTES = 64 * 1024;

/** A JSON answer. */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** The whole of a JSON request body (at most MAX_JSON_BYTES). Throws HttpError 413, or 400 for what is not JSON. */
export async function readJson(body: Readable): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw new HttpError(413, `request body larger than ${MAX_JSON_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** How long a refused request's remaining body is read (and thrown away) before its connection is cut. */
const DRAIN_MS = 2000;

/**
 * Answers a request that failed before its answer started: the public error document with its
 * status. When the body was not read to its end (a limit, a stall, a refusal before reading),
 * the connection is closed: the client is told so, the rest of the body is discarded for a
 * moment (so the client can read the answer rather than a reset), then the socket is cut.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, error: unknown, workspace: string, debug: boolean): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const { status, document } = publicError(error, workspace, debug);
  const unread = !req.complete;
  const headers = { ...(error instanceof HttpError ? error.headers : {}), ...(unread && { connection: 'close' }) };
  send(res, status, { error: document }, headers);
  if (!unread) return;
  res.once('finish', () => {
    const socket = req.socket;
    const cut = setTimeout(() => socket.destroy(), DRAIN_MS);
    cut.unref();
    socket.once('close', () => clearTimeout(cut));
    req.unpipe();
    req.resume();
    socket.end();
  });
}
