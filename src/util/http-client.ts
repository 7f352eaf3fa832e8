import { request as plainRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { BakeError } from './errors.js';
import { extraTrustedCertificates } from './extra-ca.js';

/**
 * The one HTTP client: every request bake makes (registries, token services, the router's control
 * API, health checks, the service) goes through node:http(s) here. Not the global fetch: undici
 * costs ~100 ms to load on first use, and a fetch to a port a container has just published can
 * stall with nothing keeping the process alive. What it guarantees: deadlines, bounded response
 * bodies, redirects that never carry credentials to another origin, and https with a chosen CA.
 */

export interface HttpOptions {
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** A Readable is streamed (and cannot be replayed: a redirect that needs it is not followed). */
  body?: Buffer | string | Readable;
  /** Sent as JSON with `content-type: application/json` (instead of `body`). */
  json?: unknown;
  /** Sent as `authorization: Bearer …`, to the first origin only (like every credential here). */
  bearer?: string;
  /** Deadline for the whole exchange in ms (for httpStream: until the response headers). */
  timeoutMs?: number;
  /** Longest silence on the socket, in ms, before the exchange fails. */
  idleTimeoutMs?: number;
  /** Largest response body httpRequest buffers; default 16 MiB. */
  maxBodyBytes?: number;
  /** Redirects to follow (301, 302, 303, 307, 308); default 0: the redirect is the response. */
  redirects?: number;
  /** Certificates to trust for https (PEM), instead of the system's. */
  ca?: string | Buffer;
  /** Reuse connections (the default agent); default false: one connection per request. */
  keepAlive?: boolean;
  signal?: AbortSignal;
}

/** Response headers, looked up case-insensitively; repeated headers are joined with `, `. */
export interface HttpHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  /** Where the response came from, after redirects. */
  url: string;
  headers: HttpHeaders;
  body: Buffer;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export interface HttpStreamResponse extends Omit<HttpResponse, 'body' | 'text' | 'json'> {
  /** The body as it arrives; consume or destroy it. */
  body: Readable;
}

export type HttpFailure = 'network' | 'timeout' | 'too-large' | 'protocol' | 'aborted';

/** The exchange failed before a complete response arrived. `url` carries no query or credentials. */
export class HttpClientError extends BakeError {
  override name = 'HttpClientError';
  override readonly kind: string = 'http';
  constructor(
    message: string,
    readonly reason: HttpFailure,
    readonly url: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { reason: this.reason, url: this.url, ...(this.code !== undefined && { code: this.code }) };
  }
}

/** Headers that authenticate: dropped on a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/** One request with its response body buffered (at most maxBodyBytes). Rejects with HttpClientError only. */
export async function httpRequest(url: string | URL, options: HttpOptions = {}): Promise<HttpResponse> {
  const deadline = startDeadline(options.timeoutMs);
  try {
    const response = await exchange(new URL(url), options, deadline);
    const body = await readBody(response, options.maxBodyBytes ?? 16 << 20, deadline);
    return { ...response, body, text: async () => body.toString('utf8'), json: async () => JSON.parse(body.toString('utf8')) as unknown };
  } finally {
    deadline.clear();
  }
}

/** One request whose response body is streamed. The deadline ends with the headers; idleTimeoutMs does not. */
export async function httpStream(url: string | URL, options: HttpOptions = {}): Promise<HttpStreamResponse> {
  const deadline = startDeadline(options.timeoutMs);
  try {
    return await exchange(new URL(url), options, deadline);
  } finally {
    deadline.clear();
  }
}

/** The timer behind timeoutMs: each request and body read registers how to cancel itself. */
interface Deadline {
  onExpire(cancel: () => void): void;
  clear(): void;
}

function startDeadline(ms: number | undefined): Deadline {
  let cancels: (() => void)[] = [];
  // A ref'd timer on purpose: the process stays alive until the exchange settles one way or the other.
  const timer =
    ms === undefined
      ? undefined
      : setTimeout(() => {
          for (const cancel of cancels) cancel();
        }, ms);
  return {
    onExpire: (cancel) => void cancels.push(cancel),
    clear: () => {
      cancels = [];
      clearTimeout(timer);
    },
  };
}

async function exchange(url: URL, options: HttpOptions, deadline: Deadline): Promise<HttpStreamResponse> {
  let target = url;
  let current = { ...options, headers: requestHeaders(options) };
  for (let hop = 0; ; hop++) {
    const res = await send(target, current, deadline);
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    const next =
      location !== undefined && [301, 302, 303, 307, 308].includes(status) && hop < (options.redirects ?? 0)
        ? redirect(target, location, status, current)
        : undefined;
    if (!next) return { status, ok: status >= 200 && status < 300, url: target.toString(), headers: headersOf(res.headers), body: res };
    res.resume();
    target = next.url;
    current = next.options;
  }
}

/** Where a redirect leads and what goes there, or undefined when it cannot be followed (a streamed body to replay). */
function redirect(from: URL, location: string, status: number, options: HttpOptions & { headers: Record<string, string> }) {
  const url = new URL(location, from);
  const headers = { ...options.headers };
  if (url.origin !== from.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
  const method = (options.method ?? 'GET').toUpperCase();
  if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
    const { body: _body, json: _json, ...rest } = options;
    delete headers['content-type'];
    delete headers['content-length'];
    return { url, options: { ...rest, method: 'GET', headers } };
  }
  if (options.body !== undefined && typeof options.body !== 'string' && !Buffer.isBuffer(options.body)) return undefined;
  return { url, options: { ...options, headers } };
}

function requestHeaders(options: HttpOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  if (options.json !== undefined) headers['content-type'] = 'application/json';
  if (options.bearer !== undefined) headers['authorization'] = `Bearer ${options.bearer}`;
  return headers;
}

/** The CA option of an https request: the caller's, else NODE_EXTRA_CA_CERTS's beside Node's roots (extra-ca.ts), else Node's. */
function trust(ca: string | Buffer | undefined): { ca?: string | Buffer | string[] } {
  if (ca !== undefined) return { ca };
  const extra = extraTrustedCertificates();
  return extra ? { ca: extra } : {};
}

function send(url: URL, options: HttpOptions & { headers: Record<string, string> }, deadline: Deadline): Promise<IncomingMessage> {
  const where = `${url.origin}${url.pathname}`;
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    return Promise.reject(new HttpClientError(`refusing ${where}: only http(s) URLs without credentials in them`, 'protocol', where));
  }
  return new Promise<IncomingMessage>((resolve, reject) => {
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
    const make = url.protocol === 'https:' ? tlsRequest : plainRequest;
    const req = make(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      ...(options.keepAlive !== true && { agent: false }),
      ...(url.protocol === 'https:' && trust(options.ca)),
      ...(options.signal !== undefined && { signal: options.signal }),
    });
    const fail = (reason: HttpFailure, error: Error) => {
      const code = (error as NodeJS.ErrnoException).code;
      reject(new HttpClientError(`${options.method ?? 'GET'} ${where}: ${error.message}`, reason, where, code, { cause: error }));
      req.destroy();
    };
    deadline.onExpire(() => fail('timeout', new Error(`no answer within ${options.timeoutMs} ms`)));
    if (options.idleTimeoutMs !== undefined)
      req.setTimeout(options.idleTimeoutMs, () => fail('timeout', new Error(`silent for ${options.idleTimeoutMs} ms`)));
    req.on('error', (error) => fail(options.signal?.aborted ? 'aborted' : 'network', error));
    req.on('response', resolve);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      body.on('error', (error) => fail('network', error));
      body.pipe(req);
    }
  });
}

function readBody(response: HttpStreamResponse, max: number, deadline: Deadline): Promise<Buffer> {
  const res = response.body;
  const where = response.url.split('?')[0] ?? '';
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (reason: HttpFailure, message: string, cause?: Error) => {
      reject(new HttpClientError(`${where}: ${message}`, reason, where, undefined, { cause }));
      res.destroy();
    };
    deadline.onExpire(() => fail('timeout', 'the response did not finish in time'));
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return fail('too-large', `response body larger than ${max} bytes`);
      chunks.push(chunk);
    });
    res.on('error', (error) => fail('network', error.message, error));
    res.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function headersOf(headers: IncomingHttpHeaders): HttpHeaders {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
