import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// The deploy-side rollback (bake rollback: a blue/green redeploy of the previous build) against a
// real engine. A clock of this file's own keeps its images apart from other files'.
process.env['SOURCE_DATE_EPOCH'] = '1700000818';
const tools = requireTools('git', 'busybox', 'docker');

describe.skipIf(tools.skip)('bake rollback and a revoked version', () => {
  let repo: Repo;
  let engine: Engine;
  const run = (args: string[]) => bake(['-C', repo.dir, '--json', ...args], { env: { BAKE_ACTOR: 'security-team' } });

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml.replace('environments:\n', 'environments:\n  rv:\n    image: shop\n    replicas: 1\n    strategy: rolling\n'),
    );
    await repo.commitAll('an environment for the revocation test');
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const first = await run(['deploy', '--env', 'rv']);
    expect(first.exitCode, first.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (repo) await run(['down', 'rv']);
    // Only this workspace's containers carry its scope label.
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it('refuses to go back to the revoked version, then goes with --allow-revoked', async () => {
    await appendFile(join(repo.dir, 'services', 'catalog', 'VERSION'), 'the fix\n');
    await repo.commitAll('catalog: the fix', '2026-02-02T00:00:00Z');
    expect((await run(['build', '--commit', 'shop'])).exitCode).toBe(0);
    const fix = await run(['deploy', '--env', 'rv']);
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect(fix.json.vector.catalog).toBe(2);
    expect((await run(['revoke', 'catalog', '1', '--reason', 'catalog v1 leaks carts'])).exitCode).toBe(0);

    const refused = await run(['rollback', '--env', 'rv']);
    expect(refused.exitCode, refused.stderr).toBe(3);
    expect(refused.json.error).toMatchObject({
      kind: 'revoked',
      service: 'catalog',
      version: 1,
      use: 2,
      env: 'rv',
      reason: 'catalog v1 leaks carts',
    });
    const still = await run(['status', '--env', 'rv', '--check']);
    expect(still.exitCode).toBe(0);
    expect(still.json.environments['rv'].live[0].vector.catalog).toBe(2);

    const back = await run(['rollback', '--env', 'rv', '--allow-revoked']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.json.build).toBe(1);
    const now = await run(['status', '--env', 'rv', '--check']);
    expect(now.exitCode).toBe(3);
    expect(now.json.revoked.environments).toEqual([expect.objectContaining({ env: 'rv', build: 1 })]);
    const release = now.json.environments['rv'].live[0];
    expect(release.overrides).toContainEqual({ kind: 'revoked', service: 'catalog', have: 1, want: 2, flag: '--allow-revoked' });
  });
});
