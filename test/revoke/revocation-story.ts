import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BakeRun } from '../helpers/bake-cli.js';
import { changeCatalog, hookDocument, type ShopTeams } from './shop-teams.js';

/** One way of running bake against the shared manifest: locally in the ops clone, or through `bake serve`. */
export interface World {
  teams: ShopTeams;
  /** bake (--json) as the ops team runs it, against the shared manifest. */
  ops(args: string[], env?: Record<string, string>): Promise<BakeRun>;
  /** Records the catalog team's pushed change as a new version of catalog. */
  commitCatalog(): Promise<BakeRun>;
  cleanup(): Promise<void>;
}

const REASON = 'CVE-2026-0001: SQL injection in search';
const ok = (run: BakeRun) => expect(run.exitCode, `${run.stderr}\n${run.stdout}`).toBe(0);

/**
 * The story of the issue, the same locally and through the service: a version prod runs is
 * revoked, everything that holds it is found and refused, the fix replaces it, and rollback does
 * not go back to it unless told to.
 */
export function revocationStory(makeWorld: () => Promise<World>): void {
  let world: World;
  beforeAll(async () => {
    world = await makeWorld();
  }, 120_000);
  afterAll(async () => world?.cleanup());

  it('a bad version baked into two images and released to prod', async () => {
    ok(await world.ops(['commit', '--all']));
    ok(await world.ops(['build', 'shop']));
    ok(await world.ops(['release', 'shop', '--env', 'prod']));
    await changeCatalog(world.teams, 'search v2 (concatenates SQL)\n', '2026-01-02T00:00:00Z');
    const commit = await world.commitCatalog();
    ok(commit);
    expect(commit.json.commits).toEqual([expect.objectContaining({ service: 'catalog', version: 2 })]);
    const shop = await world.ops(['build', 'shop']);
    ok(shop);
    expect(shop.json.builds[0]).toMatchObject({ build: 2, vector: { catalog: 2, cart: 1 } });
    ok(await world.ops(['release', 'shop', '--env', 'prod']));
    const admin = await world.ops(['build', 'admin']);
    ok(admin);
    expect(admin.json.builds[0]).toMatchObject({ build: 1, vector: { catalog: 2, web: 1 } });
  });

  it('revoking it tells the owners everything that holds it, and status --check fails naming prod', async () => {
    const revoke = await world.ops(['revoke', 'catalog', 'v2', '--reason', REASON], { BAKE_ACTOR: 'security-team' });
    ok(revoke);
    expect(revoke.json).toMatchObject({ event: 'revoked', service: 'catalog', versions: [{ version: 2 }], by: 'security-team', use: null });
    expect(revoke.json.hooks).toEqual([expect.objectContaining({ kind: 'command', ok: true, exitCode: 0 })]);
    const doc = await hookDocument(world.teams);
    expect(doc).toMatchObject({ event: 'revoked', service: 'catalog', reason: REASON, by: 'security-team' });
    expect(doc.affected.environments).toEqual([expect.objectContaining({ env: 'prod', image: 'shop', build: 2 })]);
    expect(doc.affected.builds.map((b: { image: string; build: number }) => `${b.image}:${b.build}`)).toEqual(['admin:1', 'shop:2']);
    expect(doc.affected.digests).toHaveLength(2);

    const check = await world.ops(['status', '--check']);
    expect(check.exitCode, check.stderr).toBe(3);
    expect(check.json.revoked.environments).toEqual([
      expect.objectContaining({ env: 'prod', build: 2, holds: [{ service: 'catalog', version: 2 }] }),
    ]);
    expect(check.json.revoked.versions).toEqual([expect.objectContaining({ service: 'catalog', version: 2, reason: REASON, use: null })]);
    // Without --check, status only reports; with --env, only that environment counts.
    ok(await world.ops(['status']));
    expect((await world.ops(['status', '--env', 'staging', '--check'])).exitCode, 'staging runs nothing revoked').toBe(0);
  });

  it('a new bake that would hold it, and a release of another image that holds it, are refused with the version to use', async () => {
    const bakeIt = await world.ops(['build', 'shop']);
    expect(bakeIt.exitCode).toBe(3);
    expect(bakeIt.json.error).toMatchObject({ kind: 'revoked', service: 'catalog', version: 2, reason: REASON, use: null });
    expect(bakeIt.json.error.message).toMatch(/commit the fix/);

    await changeCatalog(world.teams, 'search v3 (parameterised)\n', '2026-01-03T00:00:00Z');
    const fix = await world.commitCatalog();
    ok(fix);
    expect(fix.json.commits).toEqual([expect.objectContaining({ service: 'catalog', version: 3 })]);

    const release = await world.ops(['release', 'admin', '--env', 'staging']);
    expect(release.exitCode, release.stderr).toBe(3);
    expect(release.json.error).toMatchObject({
      kind: 'revoked',
      image: 'admin',
      build: 1,
      env: 'staging',
      service: 'catalog',
      version: 2,
      reason: REASON,
      revokedBy: 'security-team',
      revokedAt: expect.any(String),
      use: 3,
    });
    expect(release.json.error.message).toContain(REASON);
    expect(release.json.error.message).toMatch(/use catalog v3/);
    // --rollback and --allow-stale do not get it through.
    const forced = await world.ops(['release', 'admin', '--env', 'staging', '--rollback', '--allow-stale']);
    expect(forced.exitCode).toBe(3);
    expect(forced.json.error.kind).toBe('revoked');
  });

  it('the fix baked and released clears it: status --check passes', async () => {
    const shop = await world.ops(['build', 'shop']);
    ok(shop);
    expect(shop.json.builds[0]).toMatchObject({ build: 3, vector: { catalog: 3, cart: 1 } });
    ok(await world.ops(['release', 'shop', '--env', 'prod']));
    ok(await world.ops(['build', 'admin']));
    ok(await world.ops(['release', 'admin', '--env', 'staging']));
    const check = await world.ops(['status', '--check']);
    expect(check.exitCode, check.stderr).toBe(0);
    expect(check.json.revoked.environments).toEqual([]);
    // The builds that hold it are still listed: they must not come back.
    expect(check.json.revoked.builds.map((b: { image: string; build: number }) => `${b.image}:${b.build}`)).toEqual(['admin:1', 'shop:2']);
    expect(check.json.revoked.versions[0].use).toBe(3);
  });

  it('a rollback to the revoked build is refused, then allowed with --allow-revoked (recorded)', async () => {
    const back = await world.ops(['release', 'shop', '--env', 'prod', '--rollback', '--build', '2']);
    expect(back.exitCode).toBe(3);
    expect(back.json.error).toMatchObject({ kind: 'revoked', service: 'catalog', version: 2, use: 3, build: 2, env: 'prod' });
    expect(back.json.error.message).toMatch(/--allow-revoked/);
    const allowed = await world.ops(['release', 'shop', '--env', 'prod', '--rollback', '--build', '2', '--allow-revoked']);
    ok(allowed);
    expect(allowed.json.overrides).toContainEqual({ kind: 'revoked', service: 'catalog', have: 2, want: 3, flag: '--allow-revoked' });
    expect((await world.ops(['status', '--check'])).exitCode, 'prod runs the revoked version again').toBe(3);
    ok(await world.ops(['release', 'shop', '--env', 'prod']));
    expect((await world.ops(['status', '--check'])).exitCode).toBe(0);
    const log = await world.ops(['log', '--service', 'catalog']);
    ok(log);
    const kinds = log.json.events.map((e: { kind: string; summary: string }) => `${e.kind}: ${e.summary}`);
    expect(kinds).toContainEqual(expect.stringMatching(/^revoke: REVOKED catalog v2: CVE-2026-0001/));
    expect(kinds).toContainEqual(expect.stringMatching(/^refusal: .*admin:1 → staging: revoked catalog/));
    expect(kinds).toContainEqual(expect.stringMatching(/^release: .*revoked catalog with --allow-revoked/));
  });
}
