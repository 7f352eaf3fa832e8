import { describe, expect, it } from 'vitest';
import { buildCommandEnv, isSecretVariable } from '../../src/util/command-env.js';

describe('buildCommandEnv', () => {
  const env = {
    PATH: '/usr/bin',
    HOME: '/home/ci',
    SOURCE_DATE_EPOCH: '1700000000',
    BAKE_SERVICE_TOKEN: 's1',
    BAKE_REGISTRY_USERNAME: 'bot',
    BAKE_REGISTRY_PASSWORD: 's2',
    BAKE_REGISTRY_HOST: 'registry.example:5000',
    BAKE_DATABASE_URL: 'postgres://bake:s3@db/bake',
    GITHUB_TOKEN: 's4',
    npm_config__auth_token: 's5',
    AWS_SECRET_ACCESS_KEY: 's6',
    DB_PASSWORD: 's7',
    PGPASSWORD: 's8',
    MY_SECRET: 's9',
    TOKENIZERS: 'kept: TOKEN is not a word of it',
  };

  it('drops bake credentials and every *_TOKEN, *_PASSWORD, *_SECRET variable, keeps the rest', () => {
    const out = buildCommandEnv(env);
    expect(Object.keys(out).sort()).toEqual(['BAKE_REGISTRY_HOST', 'HOME', 'PATH', 'SOURCE_DATE_EPOCH', 'TOKENIZERS']);
    expect(JSON.stringify(out)).not.toMatch(/s[1-9]\b/);
  });

  it('passes what the operator names in BAKE_BUILD_ENV, but never bake’s own credentials', () => {
    const out = buildCommandEnv({ ...env, BAKE_BUILD_ENV: 'GITHUB_TOKEN, BAKE_REGISTRY_PASSWORD,BAKE_SERVICE_TOKEN' });
    expect(out['GITHUB_TOKEN']).toBe('s4');
    expect(out['BAKE_REGISTRY_PASSWORD']).toBeUndefined();
    expect(out['BAKE_SERVICE_TOKEN']).toBeUndefined();
  });

  it.each(['BAKE_SERVICE_TOKEN', 'ci_job_token', 'X_PASSWD', 'SECRET', 'DATABASE_URL'])('%s is a secret', (name) => {
    expect(isSecretVariable(name)).toBe(true);
  });
});
