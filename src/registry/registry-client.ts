import type { Readable } from 'node:stream';
import { httpRequest, httpStream, type HttpOptions, type HttpResponse, type HttpStreamResponse } from '../util/http-client.js';
import { parseChallenge } from './challenge.js';
import { findCredentials, registryHost, type Credentials } from './credentials.js';
import type { Repository } from './reference.js';
import { RegistryError } from './registry-error.js';

export { RegistryError } from './registry-error.js';

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
}

/** A registry that has not answered a request within this long (a big blob's upload included) is gone. */
const IDLE_TIMEOUT_MS = 300_000;

/**
 * HTTP to one repository of a registry (the OCI distribution API), answering auth challenges:
 * Basic, or Bearer via the token service named in the challenge, with credentials from
 * `findCredentials`. Credentials and tokens go to the registry's own origin only: not to an
 * upload location or a redirect on another origin, not to a token service on another host (unless
 * the operator names it in BAKE_REGISTRY_TOKEN_HOST), and not over plain http when the registry
 * speaks https. A request with a streamed body cannot be replayed, so the first call made (a HEAD)
 * settles authentication, for push, before any upload.
 */
export class RegistryClient {
  private authorization: string | undefined;
  private credentials: Credentials | undefined | null = null;
  private readonly origin: string;

  constructor(
    readonly repository: Repository,
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly tls: { ca?: string | Buffer } = {},
  ) {
    this.origin = new URL(repository.baseUrl).origin;
  }

  /** Throws RegistryError when no registry answers or it refuses to authorize; other statuses are the caller's. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = new URL(path.startsWith('http') ? path : `${this.repository.baseUrl}${path}`);
    let response = await this.send(method, url, options);
    const replayable = options.body === undefined || typeof options.body === 'string' || Buffer.isBuffer(options.body);
    // Only the registry itself may ask for credentials: a 401 from elsewhere is just a refusal.
    if (response.status === 401 && replayable && new URL(response.url).origin === this.origin) {
      await this.authenticate(response);
      response = await this.send(method, url, options);
    }
    if (response.status === 401) {
      throw new RegistryError(
        `${this.repository.registry} refused ${method} ${url.pathname}: not authorized ` +
          '(set BAKE_REGISTRY_HOST to this registry with BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD, or docker login)',
        401,
      );
    }
    return response;
  }

  /**
   * A GET whose body is streamed, not buffered (a blob of any size): authenticated like request().
   * The caller consumes or destroys `body`. Throws RegistryError as request() does.
   */
  async stream(path: string, headers: Record<string, string> = {}): Promise<HttpStreamResponse> {
    const url = new URL(path.startsWith('http') ? path : `${this.repository.baseUrl}${path}`);
    let response = await this.sendStream(url, headers);
    if (response.status === 401 && new URL(response.url).origin === this.origin) {
      response.body.resume();
      await this.authenticate(response);
      response = await this.sendStream(url, headers);
    }
    if (response.status === 401) {
      response.body.resume();
      throw new RegistryError(
        `${this.repository.registry} refused GET ${url.pathname}: not authorized ` +
          '(set BAKE_REGISTRY_HOST to this registry with BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD, or docker login)',
        401,
      );
    }
    return response;
  }

  private async send(method: string, url: URL, options: RequestOptions): Promise<HttpResponse> {
    try {
      return await httpRequest(url, this.httpOptions(method, url, options));
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private async sendStream(url: URL, headers: Record<string, string>): Promise<HttpStreamResponse> {
    try {
      return await httpStream(url, this.httpOptions('GET', url, { headers }));
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private httpOptions(method: string, url: URL, options: RequestOptions): HttpOptions {
    const ours = url.origin === this.origin;
    return {
      method,
      headers: { ...options.headers, ...(ours && this.authorization !== undefined && { authorization: this.authorization }) },
      ...(options.body !== undefined && { body: options.body }),
      // Reads may be redirected (to blob storage, say); the client drops credentials on the way out.
      redirects: method === 'GET' || method === 'HEAD' ? 5 : 0,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      keepAlive: true,
      ...(this.tls.ca !== undefined && { ca: this.tls.ca }),
    };
  }

  private unreachable(error: unknown): RegistryError {
    const reason = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    return new RegistryError(`no registry answers at ${this.repository.baseUrl} (${reason})`, undefined, { cause: error });
  }

  private async authenticate(response: Pick<HttpResponse, 'headers'>): Promise<void> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (this.credentials === null) this.credentials = await findCredentials(this.repository.registry, this.env);
    const creds = this.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (!challenge || challenge.scheme === 'basic') {
      this.authorization = basic;
      return;
    }
    const url = this.tokenServiceUrl(challenge.params['realm']);
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    // Ask for push as well as whatever the challenge names: this client pushes, and a pull-only
    // token would fail on the first upload, whose streamed body cannot be replayed.
    url.searchParams.set('scope', `repository:${this.repository.name}:pull,push`);
    const tokenResponse = await httpRequest(url, {
      headers: basic ? { authorization: basic } : {},
      redirects: 3,
      timeoutMs: 60_000,
      maxBodyBytes: 1 << 20,
      ...(this.tls.ca !== undefined && { ca: this.tls.ca }),
    }).catch((error: unknown) => {
      throw new RegistryError(`the token service ${url.origin} does not answer`, undefined, { cause: error });
    });
    if (!tokenResponse.ok)
      throw new RegistryError(`the token service ${url.origin} refused: HTTP ${tokenResponse.status}`, tokenResponse.status);
    const body = (await tokenResponse.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || token === '')
      throw new RegistryError(`the token service ${url.origin} returned no token`, tokenResponse.status);
    this.authorization = `Bearer ${token}`;
  }

  /**
   * The token service a challenge names, if bake may send this registry's credentials there: on
   * the registry's own host (any port) or the one the operator trusts in BAKE_REGISTRY_TOKEN_HOST,
   * and over https when the registry speaks https. Throws RegistryError otherwise.
   */
  private tokenServiceUrl(realm: string | undefined): URL {
    const registry = this.repository.registry;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new RegistryError(
        `${registry} asked for a bearer token without naming a token service (realm ${JSON.stringify(realm ?? '')})`,
        401,
      );
    }
    const trusted = new Set([new URL(this.origin).hostname, hostnameOf(this.env['BAKE_REGISTRY_TOKEN_HOST'])]);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !trusted.has(url.hostname.toLowerCase())) {
      throw new RegistryError(
        `${registry} names the token service ${url.origin}, on another host; bake sends a registry's credentials to that registry's host only ` +
          `(if the operator trusts ${url.hostname} with them, set BAKE_REGISTRY_TOKEN_HOST=${url.hostname})`,
        401,
      );
    }
    if (this.origin.startsWith('https:') && url.protocol !== 'https:') {
      throw new RegistryError(
        `${registry} speaks https but names the token service ${url.origin} over plain http; bake will not send credentials in clear text`,
        401,
      );
    }
    return url;
  }
}

function hostnameOf(value: string | undefined): string {
  return registryHost(value ?? '').replace(/:\d+$/, '');
}
