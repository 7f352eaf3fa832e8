import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openLocalLayout } from '../../src/oci/local-layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { digestHex, sha256Digest } from '../../src/util/digest.js';
import { tempDir } from '../helpers/repo.js';

describe('a batch of blob writes made durable together (LayoutStore.batch)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  async function layout() {
    const tmp = await tempDir('layout-batch');
    cleanups.push(tmp.cleanup);
    const dir = join(tmp.dir, 'store');
    const blobs = join(dir, 'blobs', 'sha256');
    return {
      store: await openLocalLayout(dir),
      names: async () => (await readdir(blobs)).filter((n) => !n.startsWith('.tmp-')).sort(),
      blobs,
    };
  }

  it('names no blob until sync, reads its own puts meanwhile, and names them all at sync', async () => {
    const { store, names, blobs } = await layout();
    const batch = store.batch?.();
    if (!batch) throw new Error('the local layout makes batches');
    const small = await batch.putBytes('small blob');
    const streamed = await batch.putStream(Readable.from([Buffer.from('streamed '), Buffer.from('blob')]));
    // Not in the store yet: no name on disk, and the store itself does not have them.
    expect(await names()).toEqual([]);
    expect(await store.has(small.digest)).toBe(false);
    // The batch has them, and reads them back.
    expect(await batch.has(small.digest)).toBe(true);
    expect((await batch.readBytes(streamed.digest)).toString()).toBe('streamed blob');
    // The same bytes again are one blob.
    expect(await batch.putBytes('small blob')).toEqual(small);
    await batch.sync();
    expect(await names()).toEqual([digestHex(small.digest), digestHex(streamed.digest)].sort());
    expect((await readdir(blobs)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect((await store.readBytes(small.digest)).toString()).toBe('small blob');
  });

  it('tag makes the batch durable before index.json names the manifest', async () => {
    const { store, names } = await layout();
    const batch = store.batch?.();
    if (!batch) throw new Error('the local layout makes batches');
    const manifest = await batch.putBytes('{"schemaVersion":2}');
    await batch.tag({ mediaType: MediaType.manifest, digest: manifest.digest, size: manifest.size }, 'app:1');
    expect(await names()).toEqual([digestHex(manifest.digest)]);
    expect((await store.resolve('app:1'))?.digest).toBe(manifest.digest);
  });

  it('a batch never synced leaves temp files only, never a name', async () => {
    const { store, names, blobs } = await layout();
    await store.batch?.().putBytes('abandoned');
    expect(await names()).toEqual([]);
    expect((await readdir(blobs)).some((n) => n.startsWith('.tmp-'))).toBe(true);
    expect(await store.has(sha256Digest('abandoned'))).toBe(false);
  });

  it('a stream that does not hash to the digest expected is refused and leaves nothing', async () => {
    const { store, blobs } = await layout();
    const batch = store.batch?.();
    if (!batch) throw new Error('the local layout makes batches');
    await expect(batch.putStream(Readable.from([Buffer.from('bytes')]), sha256Digest('other bytes'))).rejects.toThrow(/digest mismatch/);
    await batch.sync();
    expect(await readdir(blobs)).toEqual([]);
  });
});
