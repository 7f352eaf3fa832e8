import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('git', 'docker-registry');
const actor = { BAKE_ACTOR: 'release-bot' };

/**
 * Every successful push is recorded on its build (reference, pushed digest, who, when) against a
 * real registry, so `bake status`, `bake log` and a revocation name every registry copy of a version.
 */
describe.skipIf(tools.skip)('pushes are recorded on their builds', () => {
  let repo: Repo;
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  beforeAll(async () => {
    repo = await shopRepo({ base: false });
    await writeFile(
      join(repo.dir, 'recipes', 'shop-light.yaml'),
      'image: shop-light\nbake: light\nbase: scratch\nservices: [catalog, cart]\n',
    );
    await repo.commitAll('a light recipe');
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
    await repo?.cleanup();
  });

  it('records plain, compressed and build --push pushes, shows them in status and log, and revocations find them', async () => {
    const target = `${registry.address}/shop`;
    const built = await bake(['-C', repo.dir, '--json', 'build', '--commit', 'shop', 'shop-light'], { env: actor });
    expect(built.exitCode, built.stderr).toBe(0);
    const heavy = built.json.builds[0];

    const plain = await bake(['-C', repo.dir, '--json', 'push', 'shop', target], { env: actor });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(plain.json.digest).toBe(heavy.digest);
    const packed = await bake(['-C', repo.dir, '--json', 'push', 'shop', target, '--compress'], { env: actor });
    expect(packed.exitCode, packed.stderr).toBe(0);
    expect(packed.json.digest).not.toBe(heavy.digest);
    const viaBuild = await bake(['-C', repo.dir, '--json', 'build', 'shop-light', '--push', `${registry.address}/shop-light`], {
      env: actor,
    });
    expect(viaBuild.exitCode, viaBuild.stderr).toBe(0);
    const lightBuild = viaBuild.json.builds[0];
    // A failed push records nothing.
    const refused = await bake(['-C', repo.dir, '--json', 'push', 'shop', '127.0.0.1:1/shop'], { env: actor });
    expect(refused.exitCode).toBe(1);

    const status = await bake(['-C', repo.dir, '--json', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    const heavyStatus = status.json.images.shop.find((b: { build: number }) => b.build === heavy.build);
    expect(heavyStatus.pushes).toHaveLength(2);
    expect(heavyStatus.pushes[0]).toMatchObject({
      repository: target,
      tag: `shop-${heavy.build}`,
      reference: `${target}@${heavy.digest}`,
      digest: heavy.digest,
      compressed: false,
      by: 'release-bot',
    });
    expect(heavyStatus.pushes[1]).toMatchObject({ reference: packed.json.reference, digest: packed.json.digest, compressed: true });
    expect(Date.parse(heavyStatus.pushes[1].at)).toBeGreaterThanOrEqual(Date.parse(heavyStatus.pushes[0].at));
    const lightStatus = status.json.images['shop-light'].find((b: { build: number }) => b.build === lightBuild.build);
    expect(lightStatus.pushes.map((p: { reference: string }) => p.reference)).toEqual([viaBuild.json.builds[0].push.reference]);
    const human = await bake(['-C', repo.dir, 'status']);
    expect(human.stdout).toContain(`pushed: ${packed.json.reference} (compressed) by release-bot`);

    const log = await bake(['-C', repo.dir, '--json', 'log', '--image', 'shop']);
    const pushes = log.json.events.filter((e: { kind: string }) => e.kind === 'push');
    expect(pushes.map((e: { detail: { reference: string } }) => e.detail.reference)).toEqual([plain.json.reference, packed.json.reference]);
    expect(pushes[1]).toMatchObject({
      by: 'release-bot',
      subject: `shop:${heavy.build}`,
      detail: { compressed: true, storeDigest: heavy.digest },
    });
    expect((await bake(['-C', repo.dir, 'log'])).stdout).toContain(`push shop:${heavy.build} → ${packed.json.reference} (compressed)`);

    // Revoking a version both images hold names the heavy build's registry copies (both digests),
    // not the light one's: a light image carries no service layer.
    const revoked = await bake(['-C', repo.dir, '--json', 'revoke', 'catalog', '1', '--reason', 'CVE-2026-0001'], { env: actor });
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    expect(revoked.json.affected.pushes.map((p: { reference: string }) => p.reference)).toEqual([
      plain.json.reference,
      packed.json.reference,
    ]);
    const after = await bake(['-C', repo.dir, '--json', 'status']);
    expect(after.json.revoked.pushes).toHaveLength(2);
    expect(after.json.revoked.pushes[1]).toMatchObject({ image: 'shop', build: heavy.build, storeDigest: heavy.digest, compressed: true });
    expect(after.json.revoked.pushes[1].holds).toEqual([{ service: 'catalog', version: 1 }]);
    expect(after.json.revoked.digests).toEqual([heavy.digest, packed.json.digest].sort());
    expect((await bake(['-C', repo.dir, 'status'])).stdout).toContain(
      `pushed shop:${heavy.build} holds catalog v1 ${packed.json.reference}`,
    );
  });
});
