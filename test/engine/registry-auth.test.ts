import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { selfSignedCertificate } from '../helpers/self-signed.js';
import { startTokenServer } from '../helpers/token-server.js';
import { RegistryClient, RegistryError } from '../../src/registry/registry-client.js';
import { credentialCollector, type Answer, type Collector, type Seen } from '../security/credential-collector.js';

const tools = requireTools('git', 'docker-registry', 'openssl');
const user = { username: 'ci-bot', password: 'correct horse battery staple' };

describe.skipIf(tools.skip)('pushing to registries that require authentication', () => {
  let repo: Repo;
  let digest: string;
  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    digest = (await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop'])).json.builds[0].digest;
  });
  afterAll(() => repo?.cleanup());

  const creds = (host: string) => ({
    BAKE_REGISTRY_HOST: host,
    BAKE_REGISTRY_USERNAME: user.username,
    BAKE_REGISTRY_PASSWORD: user.password,
  });

  it('basic auth: refused without credentials, pushed with them, and the password is never printed', async () => {
    const registry = await startRegistry({ htpasswd: `${user.username}:${bcrypt.hashSync(user.password, 8)}\n` });
    try {
      const denied = await bake(['-C', repo.dir, 'push', 'shop', `${registry.address}/shop`], {
        env: { DOCKER_CONFIG: join(repo.dir, 'no-docker-config') },
      });
      expect(denied.exitCode).toBe(1);
      expect(denied.stderr).toMatch(/not authorized/);
      const pushed = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds(registry.address) });
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.json.reference).toBe(`${registry.address}/shop@${digest}`);
      expect(pushed.stdout + pushed.stderr).not.toContain(user.password);
    } finally {
      await registry.stop();
    }
  });

  it('bearer tokens: gets one from the token service the registry names, then pushes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bake-token-'));
    const tokens = await startTokenServer(dir, user);
    const registry = await startRegistry({ token: { realm: tokens.realm, certFile: tokens.certFile } });
    try {
      const denied = await bake(['-C', repo.dir, 'push', 'shop', `${registry.address}/shop`], {
        env: { DOCKER_CONFIG: join(repo.dir, 'no-docker-config') },
      });
      expect(denied.exitCode).toBe(1);
      const pushed = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds(registry.address) });
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.json.reference).toBe(`${registry.address}/shop@${digest}`);
      expect(tokens.issued()).toBeGreaterThan(0);
      // The registry serves the manifest by digest to a token holder.
      const again = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds(registry.address) });
      expect(again.json.uploaded).toBe(0);
    } finally {
      await registry.stop();
      await tokens.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// A hostile registry and token service on 127.0.0.1 that try to collect the credentials bake
// holds: by naming a token realm elsewhere, by redirecting, by plain http. `localhost` reaches the
// same listener but is another host, so where credentials went shows in the Host header.
const hostileTools = requireTools('git', 'openssl');
describe.skipIf(hostileTools.skip)('credentials never leave the host they are for', () => {
  let repo: Repo;
  const basic = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
  const env = (host: string, extra: Record<string, string> = {}) => ({
    BAKE_REGISTRY_HOST: host,
    BAKE_REGISTRY_USERNAME: user.username,
    BAKE_REGISTRY_PASSWORD: user.password,
    DOCKER_CONFIG: join(repo.dir, 'no-docker-config'),
    ...extra,
  });
  const push = (target: string, variables: Record<string, string>) => bake(['-C', repo.dir, 'push', 'shop', target], { env: variables });
  /** A registry that wants Basic auth and otherwise accepts everything: the control case. */
  const basicRegistry = (seen: Seen): Answer => {
    if (seen.authorization === null) return { status: 401, headers: { 'www-authenticate': 'Basic realm="hostile"' } };
    if (seen.method === 'HEAD') return { status: 200 };
    return { status: 201 };
  };

  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    expect((await bake(['-C', repo.dir, 'build', '--commit', 'shop'])).exitCode).toBe(0);
  });
  afterAll(() => repo?.cleanup());

  it('environment credentials go to BAKE_REGISTRY_HOST only (localhost is not 127.0.0.1)', async () => {
    const registry = await credentialCollector(basicRegistry);
    try {
      const elsewhere = await push(`localhost:${registry.port}/shop`, env(`127.0.0.1:${registry.port}`));
      expect(elsewhere.exitCode).toBe(1);
      expect(elsewhere.stderr).toMatch(/not authorized.*BAKE_REGISTRY_HOST/);
      expect(registry.seen.length).toBeGreaterThan(0);
      expect(registry.seen.filter((s) => s.authorization !== null)).toEqual([]);
      // The control: pushed to the host the operator named, the same listener gets them.
      const named = await push(`127.0.0.1:${registry.port}/shop`, env(`127.0.0.1:${registry.port}`));
      expect(named.exitCode, named.stderr).toBe(0);
      expect(registry.to('127.0.0.1').some((s) => s.authorization === basic)).toBe(true);
      // Credentials without a host are a configuration error, found before anything is sent.
      const unnamed = await push(`127.0.0.1:${registry.port}/shop`, { ...env(''), BAKE_REGISTRY_HOST: '' });
      expect(unnamed.exitCode).toBe(2);
      expect(unnamed.stderr).toMatch(/BAKE_REGISTRY_HOST/);
      expect(unnamed.stderr).not.toContain(user.password);
    } finally {
      await registry.stop();
    }
  });

  it('a token realm on another host is refused, and never asked', async () => {
    const tokens = await credentialCollector(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"token":"t"}',
    }));
    const registry = await credentialCollector((seen) =>
      seen.authorization === 'Bearer t'
        ? basicRegistry(seen)
        : { status: 401, headers: { 'www-authenticate': `Bearer realm="http://localhost:${tokens.port}/token",service="hostile"` } },
    );
    try {
      const refused = await push(`127.0.0.1:${registry.port}/shop`, env(`127.0.0.1:${registry.port}`));
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toMatch(/names the token service http:\/\/localhost:\d+, on another host/);
      expect(tokens.seen).toEqual([]);
      expect(registry.seen.filter((s) => s.authorization !== null)).toEqual([]);
      // The operator may trust a token service on another host by name: then it gets them.
      const trusted = await push(
        `127.0.0.1:${registry.port}/shop`,
        env(`127.0.0.1:${registry.port}`, { BAKE_REGISTRY_TOKEN_HOST: 'localhost' }),
      );
      expect(trusted.exitCode, trusted.stderr).toBe(0);
      expect(tokens.to('localhost')[0]?.authorization).toBe(basic);
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  });

  it('a redirect or an upload location on another host never carries credentials', async () => {
    const registry = await credentialCollector((seen) => {
      if (seen.host === 'localhost') return { status: seen.method === 'HEAD' ? 404 : 201 };
      if (seen.authorization === null) return { status: 401, headers: { 'www-authenticate': 'Basic realm="hostile"' } };
      const elsewhere = `http://localhost:${(registry as Collector).port}`;
      if (seen.method === 'HEAD') return { status: 307, headers: { location: `${elsewhere}/stolen${seen.path}` } };
      if (seen.method === 'POST') return { status: 202, headers: { location: `${elsewhere}/upload/1`, 'content-length': '0' } };
      return { status: 201 };
    });
    try {
      const pushed = await push(`127.0.0.1:${registry.port}/shop`, env(`127.0.0.1:${registry.port}`));
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      const away = registry.to('localhost');
      expect(away.map((s) => s.method)).toEqual(expect.arrayContaining(['HEAD', 'PUT']));
      expect(away.filter((s) => s.authorization !== null)).toEqual([]);
      expect(registry.to('127.0.0.1').some((s) => s.authorization === basic)).toBe(true);
    } finally {
      await registry.stop();
    }
  });

  it('a token service that redirects to another host gets the credentials on its own host only', async () => {
    const tokens = await credentialCollector((seen) =>
      seen.host === 'localhost'
        ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"token":"t"}' }
        : { status: 302, headers: { location: `http://localhost:${(tokens as Collector).port}/steal` } },
    );
    const registry = await credentialCollector((seen) =>
      seen.authorization === 'Bearer t'
        ? basicRegistry(seen)
        : { status: 401, headers: { 'www-authenticate': `Bearer realm="http://127.0.0.1:${tokens.port}/token"` } },
    );
    try {
      const pushed = await push(`127.0.0.1:${registry.port}/shop`, env(`127.0.0.1:${registry.port}`));
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(tokens.to('127.0.0.1')[0]?.authorization).toBe(basic);
      expect(tokens.to('localhost').map((s) => [s.path, s.authorization])).toEqual([['/steal', null]]);
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  });

  it('an https registry naming a plain-http token service is refused; an https one on its host is used', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bake-tls-registry-'));
    const tls = await selfSignedCertificate(dir);
    const plainTokens = await credentialCollector(() => ({ status: 200, body: '{"token":"t"}' }));
    let realm = `http://127.0.0.1:${plainTokens.port}/token`;
    const registry = await credentialCollector((seen) => {
      if (seen.path.startsWith('/token')) return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"token":"t"}' };
      return seen.authorization === 'Bearer t'
        ? { status: 200 }
        : { status: 401, headers: { 'www-authenticate': `Bearer realm="${realm}"` } };
    }, tls);
    const repository = { registry: `127.0.0.1:${registry.port}`, name: 'shop', baseUrl: `https://127.0.0.1:${registry.port}` };
    const variables = {
      BAKE_REGISTRY_HOST: repository.registry,
      BAKE_REGISTRY_USERNAME: user.username,
      BAKE_REGISTRY_PASSWORD: user.password,
    };
    try {
      const client = new RegistryClient(repository, variables, { ca: tls.cert });
      const refused = await client.request('HEAD', '/v2/shop/blobs/sha256:00').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RegistryError);
      expect((refused as Error).message).toMatch(/speaks https but names the token service http:\/\/127\.0\.0\.1:\d+ over plain http/);
      expect(plainTokens.seen).toEqual([]);
      realm = `https://127.0.0.1:${registry.port}/token`;
      const allowed = await new RegistryClient(repository, variables, { ca: tls.cert }).request('HEAD', '/v2/shop/blobs/sha256:00');
      expect(allowed.status).toBe(200);
      expect(registry.seen.find((s) => s.path.startsWith('/token'))?.authorization).toBe(basic);
    } finally {
      await registry.stop();
      await plainTokens.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
