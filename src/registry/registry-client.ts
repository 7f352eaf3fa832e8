import { RemoteStatusError } from '../util/errors.js';
import type { Readable } from 'node:stream';
import { parseChallenge } from './challenge.js';
import { httpCall, type HttpResponse } from './http.js';
import { findCredentials, type Credentials } from './credentials.js';
import type { Repository } from './reference.js';

/** The registry refused or failed a request; `status` is what callers branch on. */
export class RegistryError extends RemoteStatusError {
  override name = 'RegistryError';
  override readonly kind: string = 'registry';
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
}

/**
 * HTTP to one repository of a registry (the OCI distribution API), answering auth challenges:
 * Basic, or Bearer via the token service named in the challenge, with credentials from
 * `findCredentials`. A request with a streamed body cannot be replayed, so the first call made
 * (a HEAD) settles authentication, for push, before any upload.
 */
export class RegistryClient {
  private authorization: string | undefined;
  private credentials: Credentials | undefined | null = null;

  constructor(
    readonly repository: Repository,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = path.startsWith('http') ? path : `${this.repository.baseUrl}${path}`;
    let response = await this.send(method, url, options);
    const replayable = options.body === undefined || typeof options.body === 'string' || Buffer.isBuffer(options.body);
    if (response.status === 401 && replayable) {
      await this.authenticate(response);
      response = await this.send(method, url, options);
    }
    if (response.status === 401) {
      throw new RegistryError(`${this.repository.registry} refused ${method} ${path}: not authorized (set BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD, or docker login)`, 401);
    }
    return response;
  }

  private async send(method: string, url: string, options: RequestOptions): Promise<HttpResponse> {
    try {
      return await httpCall(method, url, { ...options.headers, ...(this.authorization && { authorization: this.authorization }) }, options.body);
    } catch (error) {
      throw new RegistryError(`no registry answers at ${this.repository.baseUrl} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message})`, undefined, { cause: error });
    }
  }

  private async authenticate(response: HttpResponse): Promise<void> {
    const challenge = parseChallenge(response.headers.get('www-authenticate'));
    if (this.credentials === null) this.credentials = await findCredentials(this.repository.registry, this.env);
    const creds = this.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (!challenge || challenge.scheme === 'basic') {
      this.authorization = basic;
      return;
    }
    const realm = challenge.params['realm'];
    if (!realm) throw new RegistryError(`${this.repository.registry} asked for a bearer token without naming a token service`, 401);
    const url = new URL(realm);
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    // Ask for push as well as whatever the challenge names: this client pushes, and a pull-only
    // token would fail on the first upload, whose streamed body cannot be replayed.
    url.searchParams.set('scope', `repository:${this.repository.name}:pull,push`);
    const tokenResponse = await httpCall('GET', url.toString(), basic ? { authorization: basic } : {}).catch((error: unknown) => {
      throw new RegistryError(`the token service ${url.origin} does not answer`, undefined, { cause: error });
    });
    if (!tokenResponse.ok) throw new RegistryError(`the token service ${url.origin} refused: HTTP ${tokenResponse.status}`, tokenResponse.status);
    const body = (await tokenResponse.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`the token service ${url.origin} returned no token`, tokenResponse.status);
    this.authorization = `Bearer ${token}`;
  }
}
