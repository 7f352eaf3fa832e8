import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/workspace.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf as storedManifest } from '../helpers/manifest.js';
import { tempDir } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { BAKE_YAML, bakeIn, changeCatalog, hookDocument, serveWorkspace, shopTeams, WRITE_TOKEN, type ShopTeams } from './shop-teams.js';

const tools = requireTools('git');
const manifestOf = (teams: ShopTeams) => storedManifest(teams.ops.dir);

describe.skipIf(tools.skip)('bake revoke: chains, bad input, hooks', () => {
  let teams: ShopTeams;
  let ops: ReturnType<typeof bakeIn>;
  beforeAll(async () => {
    teams = await shopTeams();
    ops = bakeIn(teams.ops.dir, { REVOKE_HOOK_OUT: teams.hookOut, BAKE_ACTOR: 'security-team' });
    expect((await ops(['commit', '--all'])).exitCode).toBe(0);
    // catalog v1 → v4, each descending from the one before; shop:1 holds v2.
    for (const n of [2, 3, 4]) {
      await changeCatalog(teams, `search v${n}\n`, `2026-01-0${n}T00:00:00Z`);
      await teams.ops.pull();
      expect((await ops(['commit', 'catalog'])).json.commits[0].version).toBe(n);
      if (n === 2) expect((await ops(['build', 'shop'])).exitCode).toBe(0);
    }
  }, 60_000);
  afterAll(async () => teams?.cleanup());

  it.each([
    [['revoke', 'nope', '1', '--reason', 'x'], /no committed versions of nope \(fix: name one of: cart, catalog, web\)/],
    [['revoke', 'catalog', '9', '--reason', 'x'], /catalog has no version 9 \(fix: name one of v1\.\.v4/],
    [['revoke', 'catalog', 'latest', '--reason', 'x'], /"latest" is not a version number \(fix: name it as 5 or v5\)/],
    [['revoke', 'catalog', '2'], /a revocation needs a reason \(fix: say why/],
    [['revoke', 'catalog', '2', '--reason', ' '], /the reason is empty/],
    [['unrevoke', 'catalog', '2'], /catalog v2 is not revoked/],
    [['revoke', 'catalog'], /takes SERVICE VERSION/],
  ])('bake %j is exit 2 with the fix, and records nothing', async (args, message) => {
    const before = (await manifestOf(teams)).generation;
    const run = await ops(args);
    expect(run.exitCode, run.stderr).toBe(2);
    expect(run.stderr).toMatch(message);
    expect((await manifestOf(teams)).generation).toBe(before);
  });

  it('--and-older revokes the version and every ancestor, never a descendant', async () => {
    const run = await ops(['revoke', 'catalog', '3', '--and-older', '--reason', 'the cache bug came in at v1']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.versions.map((v: { version: number }) => v.version)).toEqual([1, 2, 3]);
    expect(run.json.use).toBe(4);
    expect((await hookDocument(teams)).versions).toHaveLength(3);
    const status = await ops(['status']);
    expect(status.json.revoked.versions.map((v: { version: number; use: number }) => [v.version, v.use])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
    ]);
    expect(status.json.revoked.builds.map((b: { build: number }) => b.build)).toEqual([1]);
    // The descendant bakes and releases normally; the build that holds an ancestor does not.
    const fixed = await ops(['build', 'shop']);
    expect(fixed.json.builds[0].vector.catalog).toBe(4);
    expect((await ops(['release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    const old = await ops(['release', 'shop', '--env', 'prod', '--build', '1', '--rollback']);
    expect(old.json.error).toMatchObject({ kind: 'revoked', version: 2, use: 4 });
    expect(old.json.error.message).toMatch(/revoked \(with v3 --and-older\) by security-team/);
    // Again over an already revoked chain: only the new version is recorded.
    const again = await ops(['revoke', 'catalog', '4', '--and-older', '--reason', 'v4 too']);
    expect(again.json.versions.map((v: { version: number }) => v.version)).toEqual([4]);
    expect(again.json.unchanged).toEqual([1, 2, 3]);
    expect(again.json.use).toBeNull();
    const lifted = await ops(['unrevoke', 'catalog', 'v4', '--reason', 'false alarm on v4']);
    expect(lifted.exitCode, lifted.stderr).toBe(0);
    expect(lifted.json).toMatchObject({ event: 'unrevoked', versions: [{ version: 4 }], reason: 'false alarm on v4' });
    expect((await hookDocument(teams)).event).toBe('unrevoked');
    const history = (await manifestOf(teams)).services['catalog']?.revocations ?? [];
    expect(history.map((r) => [r.version, r.revoked, r.via ?? null])).toEqual([
      [1, true, 3],
      [2, true, 3],
      [3, true, null],
      [4, true, null],
      [4, false, null],
    ]);
  });
});

describe.skipIf(tools.skip)('the revoked hook', () => {
  let teams: ShopTeams;
  afterAll(async () => teams?.cleanup());

  it('gets no secrets, and a failing hook is reported without undoing the revocation', async () => {
    teams = await shopTeams(BAKE_YAML.replace('cat > "$REVOKE_HOOK_OUT"', 'env > "$REVOKE_HOOK_OUT"; echo mailer is down >&2; exit 7'));
    const env = { REVOKE_HOOK_OUT: teams.hookOut, BAKE_REGISTRY_PASSWORD: 'hunter2', GITHUB_TOKEN: 'ghp_secret', SHOP_REGION: 'eu' };
    const ops = bakeIn(teams.ops.dir, env);
    expect((await ops(['commit', '--all'])).exitCode).toBe(0);
    const run = await ops(['revoke', 'cart', '1', '--reason', 'cart v1 leaks sessions']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.hooks).toEqual([
      expect.objectContaining({ kind: 'command', ok: false, exitCode: 7, output: expect.stringContaining('mailer is down') }),
    ]);
    const human = await bake(['-C', teams.ops.dir, 'unrevoke', 'cart', '1'], { env });
    expect(human.stdout).toMatch(/hook FAILED: .* \(exit 7\): mailer is down; the unrevoke stands/);
    const seen = await readFile(teams.hookOut, 'utf8');
    expect(seen).toMatch(/^SHOP_REGION=eu$/m);
    expect(seen).toMatch(/^BAKE_EVENT=unrevoked$/m);
    expect(seen).not.toMatch(/hunter2|ghp_secret/);
    const history = (await manifestOf(teams)).services['cart']?.revocations ?? [];
    expect(history.map((r) => r.revoked)).toEqual([true, false]);
  });
});

describe.skipIf(tools.skip)('the revocation webhook, through bake serve', () => {
  const received: { path: string; event: string | undefined; body: any }[] = [];
  let status = 204;
  const hooks = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', event: req.headers['x-bake-event'] as string | undefined, body: JSON.parse(body) });
      res.writeHead(status).end(status === 204 ? undefined : 'receiver broke');
    });
  });
  let teams: ShopTeams;
  let stop: () => Promise<void> = async () => undefined;
  let ops: ReturnType<typeof bakeIn>;
  beforeAll(async () => {
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    const port = (hooks.address() as { port: number }).port;
    teams = await shopTeams(BAKE_YAML.replace(/hooks:\n.*\n/, `hooks:\n  webhook: http://127.0.0.1:${port}/bake/revocations\n`));
    const service = await serveWorkspace(teams.ops.dir, {});
    stop = service.stop;
    const client = bakeIn(teams.catalog.dir, { BAKE_SERVICE: service.url, BAKE_SERVICE_TOKEN: WRITE_TOKEN });
    expect((await client(['commit', '--all'])).exitCode).toBe(0);
    expect((await client(['build', 'shop'])).exitCode).toBe(0);
    expect((await client(['release', 'shop', '--env', 'prod'])).exitCode).toBe(0);
    ops = client;
  }, 60_000);
  afterAll(async () => {
    await stop();
    hooks.close();
    await teams?.cleanup();
  });

  it('receives the same document, with the affected list; a failing receiver is reported', async () => {
    const run = await ops(['revoke', 'catalog', '1', '--reason', 'bad search']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.hooks).toEqual([{ kind: 'webhook', target: expect.stringMatching(/\/bake\/revocations$/), ok: true, status: 204 }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ path: '/bake/revocations', event: 'revoked' });
    const { hooks: _hooks, ...document } = run.json;
    expect(received[0]?.body).toEqual(document);
    expect(received[0]?.body.affected.environments).toEqual([expect.objectContaining({ env: 'prod', image: 'shop', build: 1 })]);
    status = 500;
    const again = await ops(['unrevoke', 'catalog', '1']);
    expect(again.exitCode).toBe(0);
    expect(again.json.hooks).toEqual([expect.objectContaining({ kind: 'webhook', ok: false, status: 500, output: 'receiver broke' })]);
    expect(received).toHaveLength(2);
  });
});

describe('hooks in bake.yaml', () => {
  it('are checked like every other field: a URL that is not http(s), a misspelt key', async () => {
    const { dir, cleanup } = await tempDir('revoke-hooks-yaml');
    try {
      await mkdir(join(dir, 'services', 'a'), { recursive: true });
      const yaml = 'services:\n  a: {source: services/a, install: /srv/a}\nhooks:\n  revokd: ./tell.sh\n  webhook: ftp://hooks.example/x\n';
      await writeFile(join(dir, 'bake.yaml'), yaml);
      const error = await loadWorkspace(dir).catch((e: unknown) => e);
      expect(String(error)).toMatch(/bake.yaml:4:3: hooks.revokd: unknown key "revokd" \(fix: .*revoked/);
      expect(String(error)).toMatch(/bake.yaml:5:12: hooks.webhook: .*http:\/\/ or https:\/\/ URL/);
      await writeFile(join(dir, 'bake.yaml'), yaml.replace('revokd', 'revoked').replace('ftp:', 'https:'));
      expect((await loadWorkspace(dir)).hooks).toEqual({ revoked: './tell.sh', webhook: 'https://hooks.example/x' });
    } finally {
      await cleanup();
    }
  });
});
