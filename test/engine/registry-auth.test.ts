import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { startTokenServer } from '../helpers/token-server.js';

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

  const creds = { BAKE_REGISTRY_USERNAME: user.username, BAKE_REGISTRY_PASSWORD: user.password };

  it('basic auth: refused without credentials, pushed with them, and the password is never printed', async () => {
    const registry = await startRegistry({ htpasswd: `${user.username}:${bcrypt.hashSync(user.password, 8)}\n` });
    try {
      const denied = await bake(['-C', repo.dir, 'push', 'shop', `${registry.address}/shop`], { env: { DOCKER_CONFIG: join(repo.dir, 'no-docker-config') } });
      expect(denied.exitCode).toBe(1);
      expect(denied.stderr).toMatch(/not authorized/);
      const pushed = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds });
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
      const denied = await bake(['-C', repo.dir, 'push', 'shop', `${registry.address}/shop`], { env: { DOCKER_CONFIG: join(repo.dir, 'no-docker-config') } });
      expect(denied.exitCode).toBe(1);
      const pushed = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds });
      expect(pushed.exitCode, pushed.stderr).toBe(0);
      expect(pushed.json.reference).toBe(`${registry.address}/shop@${digest}`);
      expect(tokens.issued()).toBeGreaterThan(0);
      // The registry serves the manifest by digest to a token holder.
      const again = await bake(['-C', repo.dir, '--json', 'push', 'shop', `${registry.address}/shop`], { env: creds });
      expect(again.json.uploaded).toBe(0);
    } finally {
      await registry.stop();
      await tokens.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
