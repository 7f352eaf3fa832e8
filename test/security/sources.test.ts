import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar } from '../../src/layer/tar.js';
import { bake } from '../helpers/bake-cli.js';
import { shopRepo, tempDir, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git');

/** The entries of a stored layer, by path. */
async function layerEntries(workspace: string, digest: string) {
  const blob = await readFile(join(workspace, '.bake', 'store', 'blobs', 'sha256', digest.slice('sha256:'.length)));
  return new Map((await readTar(blob, 'layer')).map((e) => [e.path, e] as const));
}

describe.skipIf(tools.skip)('what a commit reads stays inside the repository, and its build keeps no secrets', () => {
  let repo: Repo;
  let outside: { dir: string; cleanup(): Promise<void> };
  let yaml: string;
  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    outside = await tempDir('outside');
    await writeFile(join(outside.dir, 'secret.txt'), 'host file\n');
    yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
  });
  afterAll(async () => {
    await repo?.cleanup();
    await outside?.cleanup();
  });

  const withService = (name: string, source: string, extra = '') =>
    writeFile(join(repo.dir, 'bake.yaml'), `${yaml}  ${name}:\n    source: ${source}\n    install: /srv/${name}\n${extra}`);

  it('refuses a source outside the git repository with exit 2, naming the field and the fix', async () => {
    await withService('stray', '../..');
    const run = await bake(['-C', repo.dir, '--json', 'commit', 'stray']);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.json?.error?.kind).toBe('invalid-input');
    expect(run.stderr).toMatch(/services\.stray\.source: source \.\.\/\.\. is outside the git repository/);
    expect(run.stderr).toMatch(/--from DIR/);
  });

  it('refuses a source reached through a committed symlink to an outside directory', async () => {
    await symlink(outside.dir, join(repo.dir, 'services', 'linked'));
    await withService('linked', 'services/linked');
    await repo.commitAll('a link to a host directory');
    const run = await bake(['-C', repo.dir, 'commit', 'linked']);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/services\.linked\.source: source services\/linked is reached through the symlink services\/linked/);
    expect(run.stderr).not.toContain(outside.dir);
  });

  it('bakes an outside directory when asked deliberately with --from, with git modes and no setuid bits', async () => {
    const plain = join(outside.dir, 'plain');
    await mkdir(join(plain, 'bin'), { recursive: true });
    await writeFile(join(plain, 'bin', 'tool'), '#!/bin/sh\n');
    await writeFile(join(plain, 'notes.txt'), 'x\n');
    await chmod(join(plain, 'bin', 'tool'), 0o4775);
    await chmod(join(plain, 'notes.txt'), 0o2664);
    await chmod(join(plain, 'bin'), 0o3777);
    await withService('stray', '../..');
    const run = await bake(['-C', repo.dir, '--json', 'commit', 'stray', '--from', plain]);
    expect(run.exitCode, run.stderr).toBe(0);
    const entries = await layerEntries(repo.dir, run.json.commits[0].layer);
    expect(entries.get('srv/stray/bin/tool')?.mode).toBe(0o755);
    expect(entries.get('srv/stray/notes.txt')?.mode).toBe(0o644);
    expect(entries.get('srv/stray/bin')?.mode).toBe(0o755);
  });

  it("runs a service's build command without the service's secrets", async () => {
    await mkdir(join(repo.dir, 'services', 'probe'), { recursive: true });
    await writeFile(join(repo.dir, 'services', 'probe', 'README'), 'probe\n');
    await withService('probe', 'services/probe', '    build: env > build-env.txt\n');
    await repo.commitAll('an environment probe');
    const secrets = {
      BAKE_SERVICE_TOKEN: 'leak-service-token',
      BAKE_REGISTRY_USERNAME: 'leak-registry-user',
      BAKE_REGISTRY_PASSWORD: 'leak-registry-password',
      // Where the manifest lives (this run's real store): named, so kept from builds like a credential.
      BAKE_DATABASE_URL: 'sqlite:.bake/leak-db-state.db',
      DATABASE_URL: 'postgres://bake:leak-db@127.0.0.1/bake',
      GITHUB_TOKEN: 'leak-github',
      DEPLOY_PASSWORD: 'leak-deploy',
      SIGNING_SECRET: 'leak-signing',
    };
    const run = await bake(['-C', repo.dir, '--json', 'commit', 'probe'], { env: { ...secrets, BAKE_PROBE_VISIBLE: 'visible-value' } });
    expect(run.exitCode, run.stderr).toBe(0);
    const built = (await layerEntries(repo.dir, run.json.commits[0].layer)).get('srv/probe/build-env.txt');
    const captured = (await built?.read?.())?.toString() ?? '';
    expect(captured).toContain('BAKE_PROBE_VISIBLE=visible-value');
    expect(captured).toContain('BAKE_SERVICE=probe');
    for (const [name, value] of Object.entries(secrets)) {
      expect(captured, name).not.toContain(value);
      expect(captured, name).not.toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });
});
