import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceScope } from '../../src/app/environment-runtime.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { bake } from '../helpers/bake-cli.js';
import { startLoad } from '../helpers/load.js';
import { manifestOf } from '../helpers/manifest.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// A clock of this file's own keeps its images distinct from every other file's on the shared engine.
process.env['SOURCE_DATE_EPOCH'] = '1700001616';
const tools = requireTools('git', 'busybox', 'docker');

// The shop with declared interfaces: catalog provides catalog-api, web requires it, each declared
// in an interfaces.yaml committed with the service's code. The gate judges every window of the
// rollout against the real engine's environment, and refuses before anything starts.
describe.skipIf(tools.skip)('declared interfaces in the release gate, against a real engine', () => {
  let repo: Repo;
  let engine: Engine;
  let urls: Record<string, string>;
  let day = 10;

  /** Declares what a service provides or requires, commits it as that team would, and bakes. */
  async function declare(service: string, declaration: string) {
    await writeFile(join(repo.dir, 'services', service, 'interfaces.yaml'), `${declaration}\n`);
    await repo.commitAll(`${service}: ${declaration}`, `2026-02-${day++}T00:00:00Z`);
    const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop']);
    expect(built.exitCode, built.stderr).toBe(0);
    return built.json.builds[0] as { build: number; vector: Record<string, number> };
  }

  async function routerState() {
    const info = JSON.parse(await readFile(join(repo.dir, '.bake', 'envs', 'dev', 'router.json'), 'utf8'));
    return (await (await fetch(`http://127.0.0.1:${info.control}/state`)).json()) as {
      instances: { id: string; release: number; vector: Record<string, number> }[];
    };
  }

  async function manifest() {
    return (await manifestOf(repo.dir)) as any;
  }

  const containers = async () => (await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) })).map((c) => c.id).sort();

  beforeAll(async () => {
    engine = await createEngine();
    repo = await shopRepo();
    const yaml = await readFile(join(repo.dir, 'bake.yaml'), 'utf8');
    await writeFile(
      join(repo.dir, 'bake.yaml'),
      yaml
        .replace('    source: services/catalog\n', '    source: services/catalog\n    interfaces: interfaces.yaml\n')
        .replace('    source: services/web\n', '    source: services/web\n    interfaces: interfaces.yaml\n'),
    );
    await writeFile(join(repo.dir, 'services', 'catalog', 'interfaces.yaml'), 'provides: {catalog-api: 1}\n');
    await writeFile(join(repo.dir, 'services', 'web', 'interfaces.yaml'), 'requires: {catalog-api: ^1}\n');
    await repo.commitAll('catalog-api 1, and web requires it');
    const up = await bake(['-C', repo.dir, '--json', 'up', 'dev']);
    expect(up.exitCode, up.stderr).toBe(0);
    urls = up.json.router;
  });
  afterAll(async () => {
    if (repo) await bake(['-C', repo.dir, '--json', 'down', 'dev']);
    const leftovers = engine && repo ? await engine.listContainers({ 'dev.bake.scope': workspaceScope(repo.dir) }) : [];
    for (const c of leftovers) await engine.removeContainer(c.id);
    await repo?.cleanup();
  });

  it('records what each version declares with the version', async () => {
    const services = (await manifest()).services;
    expect(services.catalog.versions[0].provides).toEqual({ 'catalog-api': 1 });
    expect(services.web.versions[0].requires).toEqual({ 'catalog-api': '^1' });
  });

  it('refuses a release that is consistent at the end but not while old and new run side by side, before anything starts', async () => {
    const before = { instances: (await routerState()).instances.map((i) => i.id).sort(), containers: await containers() };
    const releases = (await manifest()).environments.dev.releases.length;
    await declare('web', 'requires: {catalog-api: ">=1 <3"}');
    const built = await declare('catalog', 'provides: {catalog-api: 2}');
    const load = startLoad(`${urls['web']}/healthz`, { concurrency: 2 });
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev', '--strategy', 'rolling']);
    const served = await load.stop();
    expect(run.exitCode, run.stderr).toBe(3);
    expect(run.json.error).toMatchObject({
      kind: 'incompatible',
      reason: 'interface',
      consumer: { service: 'web', version: 1 },
      provider: { service: 'catalog', version: 2, major: 2 },
      interface: 'catalog-api',
      range: '^1',
      window: 'mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)',
    });
    expect(run.json.error.message).toBe(
      `refusing to release shop:${built.build} to dev: its versions are incompatible during ` +
        '"mid-rolling upgrade: 1 new and 2 old running (0 of 2 replaced)" (and 2 more window(s)): ' +
        'web v1 requires catalog-api ^1, but catalog v2 provides catalog-api 2. ' +
        'Release versions whose provides/requires agree, or roll out the provider that satisfies both first',
    );
    // Nothing started, nothing was released, the refusal is on record, and the old fleet served throughout.
    expect({ instances: (await routerState()).instances.map((i) => i.id).sort(), containers: await containers() }).toEqual(before);
    const env = (await manifest()).environments.dev;
    expect(env.releases).toHaveLength(releases);
    expect(env.refusals.at(-1)).toMatchObject({ kind: 'incompatible', service: 'web', have: 1, want: 2 });
    expect(served.failed, served.failures.join('; ')).toBe(0);
  });

  it('refuses it with every strategy, naming the window each one creates', async () => {
    const windows: Record<string, string> = {
      'blue-green': 'blue-green: the new fleet (2) up beside the old (2), before the switch',
      canary: 'canary live: 1 new instance beside the old fleet (2)',
      ab: 'A/B: the new fleet (2) beside the old (2), traffic split between them',
    };
    for (const [strategy, window] of Object.entries(windows)) {
      const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev', '--strategy', strategy]);
      expect(run.exitCode, `${strategy}: ${run.stderr}`).toBe(3);
      expect(run.json.error.window).toBe(window);
      expect(run.stderr).toContain('web v1 requires catalog-api ^1, but catalog v2 provides catalog-api 2');
    }
  });

  it('lets the compatible order through: a provider every running consumer accepts, then a toggle on the interface', async () => {
    // Back to catalog-api 1 (a new version), beside web v2 that accepts 1 and 2: every window agrees.
    await declare('catalog', 'provides: {catalog-api: 1}');
    const load = startLoad(`${urls['web']}/healthz`, { concurrency: 2 });
    const run = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev', '--strategy', 'rolling']);
    const served = await load.stop();
    expect(run.exitCode, run.stderr).toBe(0);
    expect(served.failed, served.failures.join('; ')).toBe(0);
    // A toggle that requires the interface waits for a provider of major 2.
    const blocked = await bake(['-C', repo.dir, '--json', 'toggle', 'new-api', 'on', '--env', 'dev', '--requires', 'catalog-api>=2']);
    expect(blocked.exitCode).toBe(3);
    expect(blocked.json.error.kind).toBe('toggle-blocked');
    expect(blocked.json.error.message).toMatch(/still runs catalog v3, which provides catalog-api 1 \(needs catalog-api >=2\)/);
    const unknown = await bake(['-C', repo.dir, '--json', 'toggle', 'x', 'on', '--env', 'dev', '--requires', 'nothing-api>=1']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.json.error.message).toMatch(/no service or interface named nothing-api/);

    await declare('catalog', 'provides: {catalog-api: 2}');
    const upgraded = await bake(['-C', repo.dir, '--json', 'deploy', '--env', 'dev', '--strategy', 'rolling']);
    expect(upgraded.exitCode, upgraded.stderr).toBe(0);
    const on = await bake(['-C', repo.dir, '--json', 'toggle', 'new-api', 'on', '--env', 'dev', '--requires', 'catalog-api>=2']);
    expect(on.exitCode, on.stderr).toBe(0);
    expect((await fetch(`${urls['catalog']}/version`)).headers.get('x-bake-features')).toBe('new-api');
  });
});
