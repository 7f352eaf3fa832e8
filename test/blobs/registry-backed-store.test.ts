import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkspace } from '../../src/config/workspace.js';
import { openLayoutStore } from '../../src/oci/layout-store.js';
import { InputError } from '../../src/util/errors.js';
import { RegistryError } from '../../src/registry/registry-error.js';
import type { Digest } from '../../src/util/digest.js';
import { freePort, startRegistry } from '../helpers/registry.js';
import { tempDir } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const tools = requireTools('docker-registry');

/** A workspace directory (bake.yaml optional): its store is `.bake/store`, the only layout a blob registry backs. */
async function workspace(bakeYaml?: string): Promise<{ dir: string; store: string; cleanup(): Promise<void> }> {
  const dir = await tempDir('blobs-ws');
  if (bakeYaml !== undefined) await writeFile(join(dir.dir, 'bake.yaml'), bakeYaml);
  return { dir: dir.dir, store: join(dir.dir, '.bake', 'store'), cleanup: dir.cleanup };
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/**
 * The store API against a real docker-registry: a put returns only once the registry holds the
 * blob, a missing blob is fetched (streamed, verified), and the registry's credentials are the
 * scoped ones `bake push` uses.
 */
describe.skipIf(tools.skip)('the workspace store backed by a blob registry', () => {
  let registry: Awaited<ReturnType<typeof startRegistry>>;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    await registry?.stop();
  });
  const head = async (address: string, repo: string, digest: string) =>
    (await fetch(`http://${address}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status;

  it('nothing configured: the local layout alone, nothing reaches the registry', async () => {
    const ws = await workspace('services: {}\n');
    cleanups.push(ws.cleanup);
    const store = await openLayoutStore(ws.store, { env: {} });
    const { digest } = await store.putBytes(`local only ${randomBytes(8).toString('hex')}`);
    expect(await head(registry.address, 'bake-blobs', digest)).toBe(404);
    expect(await store.has(sha256(Buffer.from('never written')) as Digest)).toBe(false);
  });

  it('bake.yaml blobs.registry: a put returns once the registry holds the blob; another host fetches and verifies it', async () => {
    const yaml = `services: {}\nblobs:\n  registry: ${registry.address}/team/blobs\n`;
    const a = await workspace(yaml);
    const b = await workspace(yaml);
    cleanups.push(a.cleanup, b.cleanup);
    const storeA = await openLayoutStore(a.store, { env: {} });
    const small = await storeA.putBytes('a small blob');
    expect(await head(registry.address, 'team/blobs', small.digest)).toBe(200);
    // Larger than the client's 16 MiB buffered-body limit: both directions must stream.
    const big = randomBytes(20 << 20);
    const streamed = await storeA.putStream(Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]));
    expect(streamed.digest).toBe(sha256(big));
    expect(await head(registry.address, 'team/blobs', streamed.digest)).toBe(200);

    const storeB = await openLayoutStore(b.store, { env: {} });
    expect((await storeB.readBytes(small.digest)).toString()).toBe('a small blob');
    expect(await storeB.has(streamed.digest)).toBe(true);
    expect(sha256(await readFile(storeB.blobPath(streamed.digest)))).toBe(streamed.digest);
    const chunks: Buffer[] = [];
    const missing = sha256(Buffer.from('in no store')) as Digest;
    expect(await storeB.has(missing)).toBe(false);
    await expect(storeB.readBytes(missing)).rejects.toThrow(`blob ${missing} is missing from ${b.store} and from the blob registry`);
    // openRead answers at once; the fetch happens before its first byte (how load and deploy read blobs).
    const streamedFirst = await storeA.putBytes('read as a stream before anything else');
    for await (const chunk of storeB.openRead(streamedFirst.digest)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('read as a stream before anything else');
    const failing = storeB.openRead(missing);
    await expect(async () => {
      for await (const _ of failing) break;
    }).rejects.toThrow(`blob ${missing} is missing`);
  });

  it('BAKE_BLOB_REGISTRY wins over bake.yaml; a malformed one is invalid input naming the variable', async () => {
    const ws = await workspace('services: {}\nblobs: {registry: 127.0.0.1:1/unused}\n');
    cleanups.push(ws.cleanup);
    const store = await openLayoutStore(ws.store, { env: { BAKE_BLOB_REGISTRY: `${registry.address}/from-env` } });
    const { digest } = await store.putBytes('named by the environment');
    expect(await head(registry.address, 'from-env', digest)).toBe(200);
    const bad = openLayoutStore(ws.store, { env: { BAKE_BLOB_REGISTRY: 'not a registry' } });
    await expect(bad).rejects.toBeInstanceOf(InputError);
    await expect(bad).rejects.toThrow(/BAKE_BLOB_REGISTRY: "not a registry" is not REGISTRY\/REPOSITORY/);
  });

  it('a registry that does not answer fails the put, so no record can name the blob', async () => {
    const ws = await workspace();
    cleanups.push(ws.cleanup);
    const store = await openLayoutStore(ws.store, { env: { BAKE_BLOB_REGISTRY: `127.0.0.1:${await freePort()}/blobs` } });
    await expect(store.putBytes('nowhere to go')).rejects.toBeInstanceOf(RegistryError);
    await expect(store.putBytes('nowhere to go')).rejects.toThrow(/no registry answers at http:\/\/127\.0\.0\.1:\d+/);
  });

  it('credentials: the scoped BAKE_REGISTRY_* ones, for that host only', async () => {
    const user = { username: 'blob-bot', password: 'blobs are forever' };
    const guarded = await startRegistry({ htpasswd: `${user.username}:${bcrypt.hashSync(user.password, 8)}\n` });
    const ws = await workspace();
    cleanups.push(ws.cleanup);
    try {
      const target = { BAKE_BLOB_REGISTRY: `${guarded.address}/blobs`, DOCKER_CONFIG: join(ws.dir, 'no-docker-config') };
      const creds = { BAKE_REGISTRY_USERNAME: user.username, BAKE_REGISTRY_PASSWORD: user.password };
      const anonymous = await openLayoutStore(ws.store, { env: target });
      await expect(anonymous.putBytes('needs a login')).rejects.toThrow(/not authorized/);
      // Credentials for another host are not sent here.
      const elsewhere = await openLayoutStore(ws.store, { env: { ...target, ...creds, BAKE_REGISTRY_HOST: 'registry.invalid:5000' } });
      await expect(elsewhere.putBytes('needs a login')).rejects.toThrow(/not authorized/);
      const store = await openLayoutStore(ws.store, { env: { ...target, ...creds, BAKE_REGISTRY_HOST: guarded.address } });
      const { digest } = await store.putBytes('needs a login');
      const auth = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
      const answer = await fetch(`http://${guarded.address}/v2/blobs/blobs/${digest}`, { headers: { authorization: auth } });
      expect(answer.status).toBe(200);
      expect(await answer.text()).toBe('needs a login');
    } finally {
      await guarded.stop();
    }
  });

  it('a layout that is not a workspace store stays local even with BAKE_BLOB_REGISTRY set', async () => {
    const dir = await tempDir('blobs-layout');
    cleanups.push(dir.cleanup);
    await mkdir(join(dir.dir, 'base'), { recursive: true });
    const store = await openLayoutStore(join(dir.dir, 'base', 'oci'), { env: { BAKE_BLOB_REGISTRY: `${registry.address}/bake-blobs` } });
    const { digest } = await store.putBytes(`a base layout ${randomBytes(8).toString('hex')}`);
    expect(await head(registry.address, 'bake-blobs', digest)).toBe(404);
  });
});

describe('bake.yaml blobs:', () => {
  it('is checked like every field: a malformed registry or an unknown key is reported where it is written', async () => {
    const ws = await workspace('services: {}\nblobs:\n  registry: not-a-registry\n  regsitry: x\n');
    try {
      const error = await loadWorkspace(ws.dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InputError);
      const problems = (error as InputError).problems.map((p) => ({ line: p.line, field: p.field }));
      expect(problems).toEqual(
        expect.arrayContaining([
          { line: 3, field: 'blobs.registry' },
          { line: 4, field: 'blobs.regsitry' },
        ]),
      );
      expect((error as InputError).message).toContain('127.0.0.1:5000/bake-blobs');
      const loaded = await workspace(`services: {}\nblobs: {registry: 127.0.0.1:5000/bake-blobs}\n`);
      await expect(loadWorkspace(loaded.dir)).resolves.toMatchObject({ dir: loaded.dir });
      await loaded.cleanup();
    } finally {
      await ws.cleanup();
    }
  });
});
