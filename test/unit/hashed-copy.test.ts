import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyHashed } from '../../src/util/hashed-copy.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bake-hashed-copy-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** `total` bytes of a pattern in chunks of odd sizes, as a pipe from git delivers them. */
function chunks(total: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, n = 0; at < total; n++) {
    const size = Math.min(total - at, 1 + ((n * 7919) % 97_000));
    out.push(Buffer.from(Array.from({ length: size }, (_, i) => (at + i) % 251)));
    at += size;
  }
  return out;
}

describe('copyHashed', () => {
  it('writes exactly the bytes it hashes, however they arrive, with one write in flight while it reads on', async () => {
    const parts = chunks(6 << 20);
    const whole = Buffer.concat(parts);
    const file = join(dir, 'blob');
    const result = await copyHashed(Readable.from(parts), file, undefined, { sync: true });
    expect(result.size).toBe(whole.length);
    expect(result.digest).toBe(`sha256:${createHash('sha256').update(whole).digest('hex')}`);
    expect((await readFile(file)).equals(whole)).toBe(true);
  });

  it('fails with the source, and stops at its byte limit', async () => {
    async function* failing() {
      yield* chunks(2 << 20);
      throw new Error('the pipe broke');
    }
    await expect(copyHashed(Readable.from(failing()), join(dir, 'a'))).rejects.toThrow(/the pipe broke/);
    const tooLarge = () => new Error('over the limit');
    await expect(copyHashed(Readable.from(chunks(3 << 20)), join(dir, 'b'), { maxBytes: 1 << 20, tooLarge })).rejects.toThrow(
      /over the limit/,
    );
  });
});
