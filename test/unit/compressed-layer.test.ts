import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compressedLayer } from '../../src/oci/compressed-layer.js';
import { openLayoutStore } from '../../src/oci/layout-store.js';
import { MediaType } from '../../src/oci/media-types.js';
import { digestHex } from '../../src/util/digest.js';

describe('gzip twins of stored layers (push --compress)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('compresses once, deterministically, caches by the uncompressed digest, and round-trips', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bake-gzip-'));
    dirs.push(dir);
    const store = await openLayoutStore(join(dir, 'store'));
    const bytes = Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'text line\n')]);
    const layer = { mediaType: MediaType.layer, ...(await store.putBytes(bytes)) };

    const first = await compressedLayer(store, layer);
    expect(first.mediaType).toBe(MediaType.layerGzip);
    expect(first.size).toBeLessThan(bytes.length);
    expect(gunzipSync(await store.readBytes(first.digest)).equals(bytes)).toBe(true);

    const record = join(dir, 'store', 'compressed', `${digestHex(layer.digest)}.json`);
    const before = (await stat(record)).mtimeMs;
    expect(await compressedLayer(store, layer)).toEqual(first);
    expect((await stat(record)).mtimeMs).toBe(before); // a second push costs nothing

    // The twin is a pure function of the bytes: lost and made again, it is the same blob.
    await rm(store.blobPath(first.digest));
    expect(await compressedLayer(store, layer)).toEqual(first);
    const other = await openLayoutStore(join(dir, 'other'));
    expect(await compressedLayer(other, { mediaType: MediaType.layer, ...(await other.putBytes(bytes)) })).toEqual(first);
  });
});
