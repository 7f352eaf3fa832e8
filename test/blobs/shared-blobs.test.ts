import { createHash } from 'node:crypto';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { ensureTestPostgres, type ScratchDatabase, scratchDatabase } from '../helpers/postgres.js';
import { startRegistry } from '../helpers/registry.js';
import { shopRepo, type Repo } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';
import { centralRepo, type Central, type TeamClone } from '../helpers/teams.js';

ensureTestPostgres();
const tools = requireTools('git', 'docker-registry', 'skopeo', 'postgres');
const REPO = 'bake-blobs';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const storeOf = (dir: string) => join(dir, '.bake', 'store');
const blobFile = (dir: string, digest: string) => join(storeOf(dir), 'blobs', 'sha256', digest.replace('sha256:', ''));

/** The layer digest of each service's latest version, from a workspace's version records. */
async function latestLayers(dir: string, env: Record<string, string>): Promise<Record<string, string>> {
  const manifest = await manifestOf(dir, env);
  return Object.fromEntries(Object.entries(manifest.services).map(([name, s]) => [name, s.versions.at(-1)?.layer.digest ?? '']));
}

/**
 * Two teams' workspaces (clones of one central repository, each with its own `.bake`) share one
 * PostgreSQL store for the records and one blob registry, a real docker-registry on 127.0.0.1: what one commits and builds, the other can
 * build, push and fetch from an empty store, every blob verified by its digest.
 */
describe.skipIf(tools.skip)('blobs live in a shared registry', () => {
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  let seed: Repo;
  let central: Central;
  let teamA: TeamClone;
  let teamB: TeamClone;
  let env: Record<string, string>;
  let built: { build: number; digest: string };
  let db: ScratchDatabase;
  beforeAll(async () => {
    registry = await startRegistry();
    seed = await shopRepo({ base: false });
    central = await centralRepo(seed);
    teamA = await central.clone('team-a');
    teamB = await central.clone('team-b');
    db = await scratchDatabase('blobs');
    env = { BAKE_BLOB_REGISTRY: `${registry.address}/${REPO}`, BAKE_DATABASE_URL: db.url };
  });
  afterAll(async () => {
    await db?.drop();
    await central?.cleanup();
    await seed?.cleanup();
    await registry?.stop();
  });

  const api = (path: string, init?: RequestInit) => fetch(`http://${registry.address}/v2/${REPO}${path}`, init);
  const registryBlob = async (digest: string) => {
    const answer = await api(`/blobs/${digest}`);
    return { status: answer.status, bytes: Buffer.from(await answer.arrayBuffer()) };
  };

  it("team A's commit uploads its layers, and its build the config and the manifest, before recording them", async () => {
    const commit = await bake(['-C', teamA.dir, '--json', 'commit', '--all'], { env });
    expect(commit.exitCode, commit.stderr).toBe(0);
    const layers = await latestLayers(teamA.dir, env);
    expect(Object.keys(layers).sort()).toEqual(['cart', 'catalog', 'web']);
    for (const digest of Object.values(layers)) {
      const blob = await registryBlob(digest);
      expect(blob.status, digest).toBe(200);
      expect(sha256(blob.bytes)).toBe(digest);
    }

    const build = await bake(['-C', teamA.dir, '--json', 'build', 'shop'], { env });
    expect(build.exitCode, build.stderr).toBe(0);
    built = build.json.builds[0];
    const manifest = await api(`/manifests/${built.digest}`, { headers: { accept: OCI_MANIFEST } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(built.digest);
    const image = JSON.parse(await manifest.text()) as { config: { digest: string }; layers: { digest: string }[] };
    expect(image.layers.map((l) => l.digest)).toEqual(expect.arrayContaining(Object.values(layers)));
    for (const digest of [built.digest, image.config.digest, ...image.layers.map((l) => l.digest)]) {
      expect((await registryBlob(digest)).status, digest).toBe(200);
    }
    const tags = (await (await api('/tags/list')).json()) as { tags: string[] };
    expect(tags.tags).toContain(`shop-${built.build}`);
  });

  it('team B, whose store is empty, builds the same image from those versions, and pushes it', async () => {
    await expect(stat(storeOf(teamB.dir))).rejects.toThrow();
    const build = await bake(['-C', teamB.dir, '--json', 'build', 'shop'], { env });
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.json.builds[0].digest).toBe(built.digest);
    // Every blob of the image is now in B's layout, and verified: skopeo reads it as an image.
    for (const digest of Object.values(await latestLayers(teamA.dir, env))) {
      expect(sha256(await readFile(blobFile(teamB.dir, digest)))).toBe(digest);
    }
    const raw = await execa('skopeo', ['inspect', '--raw', `oci:${storeOf(teamB.dir)}:shop:${build.json.builds[0].build}`]);
    expect(sha256(Buffer.from(raw.stdout))).toBe(built.digest);

    const pushed = await bake(['-C', teamB.dir, '--json', 'push', 'shop', `${registry.address}/shop-from-b`], { env });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(pushed.json.reference).toBe(`${registry.address}/shop-from-b@${built.digest}`);
  });

  it("a runner that never built pushes team A's build: every blob it needs is fetched from the registry", async () => {
    const runner = await central.clone('runner');
    const pushed = await bake(['-C', runner.dir, '--json', 'push', 'shop', `${registry.address}/shop-from-runner`], { env });
    expect(pushed.exitCode, pushed.stderr).toBe(0);
    expect(pushed.json.digest).toBe(built.digest);
    expect(sha256(await readFile(blobFile(runner.dir, built.digest)))).toBe(built.digest);
  });

  it('a blob deleted from the local store is fetched again and verified on the next build', async () => {
    const catalog = (await latestLayers(teamA.dir, env))['catalog'] as string;
    await rm(blobFile(teamB.dir, catalog));
    const build = await bake(['-C', teamB.dir, '--json', 'build', 'shop'], { env });
    expect(build.exitCode, build.stderr).toBe(0);
    expect(build.json.builds[0].digest).toBe(built.digest);
    expect(sha256(await readFile(blobFile(teamB.dir, catalog)))).toBe(catalog);
  });

  it('bake gc removes local blobs only: the registry keeps every blob a record names', async () => {
    const first = built;
    await writeFile(join(teamA.dir, 'services', 'catalog', 'CHANGES'), 'catalog 2\n');
    await teamA.commitAll('catalog 2');
    const rebuilt = await bake(['-C', teamA.dir, '--json', 'build', '--commit', 'shop'], { env });
    expect(rebuilt.exitCode, rebuilt.stderr).toBe(0);
    expect(rebuilt.json.builds[0].digest).not.toBe(first.digest);
    const gc = await bake(['-C', teamA.dir, '--json', 'gc', '--grace', '0'], { env });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.json.store.blobs).toContain(first.digest);
    await expect(stat(blobFile(teamA.dir, first.digest))).rejects.toThrow();
    expect((await registryBlob(first.digest)).status).toBe(200);
    expect((await api(`/manifests/${first.digest}`, { headers: { accept: OCI_MANIFEST } })).status).toBe(200);
  });

  it('a corrupt blob in the registry is refused with an error naming its digest, and nothing is stored', async () => {
    const cart = (await latestLayers(teamA.dir, env))['cart'] as string;
    // The registry's filesystem driver keeps a blob's bytes in blobs/sha256/<2 hex>/<hex>/data: same size, other bytes.
    const hex = cart.replace('sha256:', '');
    const data = join(registry.dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const handle = await open(data, 'r+');
    try {
      const first = Buffer.alloc(1);
      await handle.read(first, 0, 1, 0);
      await handle.write(Buffer.from([(first[0] as number) ^ 0xff]), 0, 1, 0);
    } finally {
      await handle.close();
    }
    await rm(blobFile(teamB.dir, cart));
    const build = await bake(['-C', teamB.dir, '--json', 'build', 'shop'], { env });
    expect(build.exitCode).toBe(1);
    expect(build.json.error).toMatchObject({ kind: 'digest-mismatch', expected: cart, source: `${registry.address}/${REPO}` });
    expect(build.json.error.message).toContain(`the blob registry ${registry.address}/${REPO} holds corrupt bytes for ${cart}`);
    const human = await bake(['-C', teamB.dir, 'build', 'shop'], { env });
    expect(human.exitCode).toBe(1);
    expect(human.stderr).toContain(cart);
    await expect(stat(blobFile(teamB.dir, cart))).rejects.toThrow();
  });
});
