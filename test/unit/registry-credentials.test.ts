import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCredentials } from '../../src/registry/credentials.js';
import { InputError } from '../../src/util/errors.js';

describe('registry credentials are scoped to their host', () => {
  let dockerConfig: string;
  beforeAll(async () => {
    dockerConfig = await mkdtemp(join(tmpdir(), 'bake-docker-config-'));
    const auth = (user: string) => Buffer.from(`${user}:pw-${user}`).toString('base64');
    await writeFile(
      join(dockerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          'https://Registry.Example:5000/v1/': { auth: auth('docker') },
          '127.0.0.1:6000': { username: 'plain', password: 'pw-plain' },
        },
      }),
    );
  });
  afterAll(() => rm(dockerConfig, { recursive: true, force: true }));

  const envCreds = { BAKE_REGISTRY_USERNAME: 'ci-bot', BAKE_REGISTRY_PASSWORD: 'hunter2' };
  const none = { DOCKER_CONFIG: '/nonexistent' };

  it('environment credentials go to the host named in BAKE_REGISTRY_HOST only', async () => {
    const env = { ...none, ...envCreds, BAKE_REGISTRY_HOST: '127.0.0.1:5000' };
    expect(await findCredentials('127.0.0.1:5000', env)).toMatchObject({ username: 'ci-bot', from: 'environment' });
    expect(await findCredentials('localhost:5000', env)).toBeUndefined();
    expect(await findCredentials('127.0.0.1:5001', env)).toBeUndefined();
    expect(await findCredentials('evil.example', env)).toBeUndefined();
  });

  it('environment credentials without a host are refused with the fix', async () => {
    const error = await findCredentials('127.0.0.1:5000', { ...none, ...envCreds }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/BAKE_REGISTRY_HOST/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('Docker config entries apply to their own host, however the key is spelled', async () => {
    const env = { DOCKER_CONFIG: dockerConfig };
    expect(await findCredentials('registry.example:5000', env)).toMatchObject({
      username: 'docker',
      password: 'pw-docker',
      from: 'docker-config',
    });
    expect(await findCredentials('127.0.0.1:6000', env)).toMatchObject({ username: 'plain' });
    expect(await findCredentials('localhost:6000', env)).toBeUndefined();
    expect(await findCredentials('registry.example', env)).toBeUndefined();
    // Environment credentials for another host do not shadow the Docker config's own.
    expect(await findCredentials('127.0.0.1:6000', { ...env, ...envCreds, BAKE_REGISTRY_HOST: 'other:1' })).toMatchObject({
      username: 'plain',
    });
  });
});
