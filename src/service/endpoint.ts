import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { BakeError, UsageError } from '../util/errors.js';

/** A bake service as a client reaches it: its base URL and the bearer token to show. */
export interface ServiceEndpoint {
  base: URL;
  token: string | undefined;
}

/** The service named by `url`, with BAKE_SERVICE_TOKEN from `env`. Throws UsageError for a URL bake cannot speak to. */
export function serviceEndpoint(url: string, env: NodeJS.ProcessEnv): ServiceEndpoint {
  let base: URL;
  try {
    base = new URL(url);
  } catch (error) {
    throw new UsageError(`the bake service URL ${JSON.stringify(url)} is not a URL (e.g. http://127.0.0.1:7878)`, { cause: error });
  }
  if (base.protocol !== 'http:') {
    throw new UsageError(`the bake service URL ${url} must be http://HOST:PORT (bake serve listens on 127.0.0.1)`);
  }
  return { base, token: env['BAKE_SERVICE_TOKEN'] || undefined };
}

/**
 * Sends one request and resolves with the response as it starts (the caller reads the body), or
 * rejects with a BakeError when no service answers. `signal` aborts it.
 */
export function sendRequest(
  endpoint: ServiceEndpoint,
  method: 'GET' | 'POST',
  path: string,
  body: Buffer,
  type: string,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const { base, token } = endpoint;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port || 80,
        method,
        path,
        headers: { 'content-type': type, 'content-length': String(body.length), ...(token && { authorization: `Bearer ${token}` }) },
        ...(signal && { signal }),
      },
      resolve,
    );
    req.on('error', (error) => reject(new BakeError(`no bake service answers at ${base.origin} (${error.message})`, { cause: error })));
    req.end(body);
  });
}

/** The whole body of a response, as text. */
export async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
