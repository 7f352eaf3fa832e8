import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BakeError, UsageError } from '../util/errors.js';
import { HttpClientError, type HttpHeaders, httpStream } from '../util/http-client.js';

/** A bake service as a client reaches it: its base URL, the bearer token to show, the CA to trust. */
export interface ServiceEndpoint {
  base: URL;
  token: string | undefined;
  /** BAKE_SERVICE_CA: the certificates (PEM) an https service's certificate must chain to. */
  ca?: Buffer;
}

/** An answer as it starts: its status, its headers, and its body to read. */
export type ServiceResponse = Readable & { statusCode: number; headers: HttpHeaders };

/** No service answered at an endpoint (refused, reset, timed out before an answer started): another replica may. */
export class ServiceUnreachableError extends BakeError {
  override name = 'ServiceUnreachableError';
}

/**
 * The services named by `urls`: one URL, or several separated by commas or spaces (replicas of one
 * workspace, in the order to try them; see service-session.ts). Each is checked as serviceEndpoint.
 */
export function serviceEndpoints(urls: string, env: NodeJS.ProcessEnv): ServiceEndpoint[] {
  const list = urls.split(/[\s,]+/).filter((u) => u !== '');
  if (list.length === 0) throw new UsageError('the bake service URL is empty (BAKE_SERVICE or --service-url)');
  return list.map((url) => serviceEndpoint(url, env));
}

/**
 * The service named by `url`, with BAKE_SERVICE_TOKEN and BAKE_SERVICE_CA from `env`. An https
 * URL is spoken to over TLS, trusting the system's CAs or BAKE_SERVICE_CA's; a plain http URL is
 * accepted with a token only on this machine (127.0.0.1, localhost, ::1), so a token never
 * crosses a network in clear text. Throws UsageError for a URL bake will not speak to.
 */
export function serviceEndpoint(url: string, env: NodeJS.ProcessEnv): ServiceEndpoint {
  let base: URL;
  try {
    base = new URL(url);
  } catch (error) {
    throw new UsageError(`the bake service URL ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:7878)`, { cause: error });
  }
  if ((base.protocol !== 'http:' && base.protocol !== 'https:') || base.username || base.password) {
    throw new UsageError(
      `the bake service URL ${base.origin} must be http://127.0.0.1:PORT or https://HOST:PORT, without credentials in it`,
    );
  }
  const token = env['BAKE_SERVICE_TOKEN'] || undefined;
  if (base.protocol === 'http:' && token !== undefined && !isLoopback(base.hostname)) {
    throw new UsageError(
      `refusing to send BAKE_SERVICE_TOKEN in clear text to ${base.origin}: plain http is for 127.0.0.1 only; ` +
        'use https:// (bake serve --tls-cert FILE --tls-key FILE, or a TLS proxy)',
    );
  }
  const caFile = env['BAKE_SERVICE_CA'] || undefined;
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(`BAKE_SERVICE_CA=${caFile} cannot be read (${code}); name a PEM file of the CA to trust`, { cause: error });
    }
  }
  return { base, token, ...(ca && { ca }) };
}

/**
 * Sends one request and resolves with the answer as it starts (the caller reads the body), or
 * rejects with ServiceUnreachableError when no service answers, BakeError when its certificate is
 * not trusted. The token goes to the endpoint's origin only (never along a redirect, which is not
 * followed). `signal` aborts it; `headers` go with it (an idempotency key).
 */
export async function sendRequest(
  endpoint: ServiceEndpoint,
  method: 'GET' | 'POST',
  path: string,
  body: Buffer | Readable,
  type: string,
  signal?: AbortSignal,
  headers: Record<string, string> = {},
): Promise<ServiceResponse> {
  const { base, token, ca } = endpoint;
  try {
    const response = await httpStream(new URL(path, base), {
      method,
      headers: { ...headers, 'content-type': type, ...(Buffer.isBuffer(body) && { 'content-length': String(body.length) }) },
      body,
      ...(token !== undefined && { bearer: token }),
      ...(ca !== undefined && { ca }),
      ...(signal !== undefined && { signal }),
    });
    return Object.assign(response.body, { statusCode: response.status, headers: response.headers });
  } catch (error) {
    const code = error instanceof HttpClientError ? error.code : undefined;
    if (code !== undefined && TLS_TRUST.has(code)) {
      throw new BakeError(
        `the bake service at ${base.origin} presented a certificate this client does not trust (${code}); ` +
          'set BAKE_SERVICE_CA to the PEM file of the CA that signed it',
        { cause: error },
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServiceUnreachableError(`no bake service answers at ${base.origin} (${reason})`, { cause: error });
  }
}

/** The whole body of an answer, as text. */
export async function readBody(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const TLS_TRUST = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}
