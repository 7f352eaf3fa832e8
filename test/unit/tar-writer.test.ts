import { Readable } from 'node:stream';
import fc from 'fast-check';
import tarStream from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarBytes, tarStreamOf } from '../../src/layer/tar-writer.js';
import { type BodyChunks, sortEntries, type TreeEntry } from '../../src/tree/tree.js';
import { UnsafeSourceError } from '../../src/util/errors.js';

/**
 * bake's tar writer must write exactly what tar-stream's pack wrote for the same entries: every
 * layer digest ever recorded depends on those bytes. The reference below is the writer bake used
 * before (tar-stream's pack, fed entry by entry); the two are compared byte for byte over random
 * trees: long paths (ustar prefix and PAX), non-ASCII names, long link targets, mode 0, empty and
 * multi-chunk files, streamed and in-memory bodies.
 */
async function reference(entries: readonly TreeEntry[], mtime: number): Promise<Buffer> {
  const pack = tarStream.pack();
  const date = new Date(mtime * 1000);
  const done = (async () => {
    for (const entry of entries) {
      const header = {
        name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
        mode: entry.mode,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        mtime: date,
        devmajor: 0,
        devminor: 0,
        linkname: '',
      };
      await new Promise<void>((resolve, reject) => {
        const cb = (error?: Error | null) => (error ? reject(error) : resolve());
        if (entry.type === 'file') {
          void (entry.read ? entry.read() : Promise.resolve(Buffer.alloc(0))).then((body) =>
            pack.entry({ ...header, type: 'file', size: body.length }, body, cb),
          );
        } else if (entry.type === 'symlink') pack.entry({ ...header, type: 'symlink', size: 0, linkname: entry.linkTarget ?? '' }, cb);
        else pack.entry({ ...header, type: 'directory', size: 0 }, cb);
      });
    }
    pack.finalize();
  })();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  await done;
  return Buffer.concat(chunks);
}

async function written(entries: readonly TreeEntry[], mtime: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tarStreamOf(entries, { mtime })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A body served in pieces of `piece` bytes, as git's output arrives. */
function streamed(body: Buffer, piece: number): () => Readable {
  return () =>
    Readable.from(
      (function* () {
        for (let i = 0; i < body.length; i += piece) yield body.subarray(i, i + piece);
      })(),
    );
}

const segment = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,12}$/),
  fc.stringMatching(/^[a-z]{40,70}$/),
  fc.constantFrom('café', 'данные', '数据', 'x y'),
);
const pathArb = fc.array(segment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('/'));
const entryArb = fc.record({
  path: pathArb,
  kind: fc.constantFrom('file', 'file', 'file', 'directory', 'symlink'),
  mode: fc.constantFrom(0o644, 0o755, 0, 0o600, 0o4755, 0o1777),
  size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 16_000, max: 70_000 })),
  target: fc.oneof(pathArb, fc.stringMatching(/^[a-z/]{90,130}$/)),
  streamedIn: fc.option(fc.constantFrom(1, 511, 4096, 65536), { nil: undefined }),
  lean: fc.boolean(),
  copied: fc.boolean(),
});

/** The same pieces as a lean chunk source (what git bodies give the writer). */
function lean(body: Buffer, piece: number): () => BodyChunks {
  return () => {
    const stream = streamed(body, piece)();
    return Object.assign(stream as AsyncIterable<Buffer>, { cancel: () => stream.destroy() });
  };
}

/** The body copied into place, as git's reader does for a layer made in memory. */
function copied(body: Buffer): NonNullable<TreeEntry['copyInto']> {
  return async (target, offset, size) => {
    body.copy(target, offset, 0, Math.min(size, body.length));
    return body.length;
  };
}

describe('tar writer', () => {
  it('writes the bytes tar-stream wrote, for any tree', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 16 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (raw, mtime) => {
        const byPath = new Map<string, TreeEntry>();
        raw.forEach((e, i) => {
          if (e.kind === 'directory') byPath.set(e.path, { path: e.path, type: 'directory', mode: e.mode, size: 0 });
          else if (e.kind === 'symlink') byPath.set(e.path, { path: e.path, type: 'symlink', mode: e.mode, size: 0, linkTarget: e.target });
          else {
            const body = Buffer.alloc(e.size, i + 1);
            byPath.set(e.path, {
              path: e.path,
              type: 'file',
              mode: e.mode,
              size: e.size,
              read: async () => body,
              ...(e.streamedIn !== undefined && { open: streamed(body, e.streamedIn as number) }),
              ...(e.streamedIn !== undefined && e.lean && { chunks: lean(body, e.streamedIn as number) }),
              ...(e.streamedIn !== undefined && e.copied && { copyInto: copied(body) }),
            });
          }
        });
        const entries = sortEntries([...byPath.values()]);
        const expected = await reference(entries, mtime);
        expect((await written(entries, mtime)).equals(expected)).toBe(true);
        expect((await tarBytes(entries, { mtime })).equals(expected)).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it('refuses a streamed body shorter or longer than its listed size', async () => {
    for (const actual of [9, 11]) {
      const body = Buffer.alloc(actual, 1);
      const entry: TreeEntry = { path: 'a', type: 'file', mode: 0o644, size: 10, open: streamed(body, 4) };
      await expect(written([entry], 0)).rejects.toBeInstanceOf(UnsafeSourceError);
      await expect(written([{ ...entry, chunks: lean(body, 4) }], 0)).rejects.toBeInstanceOf(UnsafeSourceError);
      // In memory: a body copied into place, or streamed in, of another length is refused too.
      await expect(tarBytes([entry], { mtime: 0 })).rejects.toBeInstanceOf(UnsafeSourceError);
      await expect(tarBytes([{ ...entry, copyInto: copied(body) }], { mtime: 0 })).rejects.toBeInstanceOf(UnsafeSourceError);
    }
  });

  it('destroys the bodies it opened ahead when the archive is abandoned', async () => {
    const bodies: Readable[] = [];
    const entries: TreeEntry[] = Array.from({ length: 5 }, (_, i) => ({
      path: `f${i}`,
      type: 'file',
      mode: 0o644,
      size: 100_000,
      open: () => {
        const body = streamed(Buffer.alloc(100_000, i), 1000)();
        bodies.push(body);
        return body;
      },
    }));
    const tar = tarStreamOf(entries, { mtime: 0 });
    for await (const _ of tar) break;
    await new Promise((r) => setTimeout(r, 10));
    expect(bodies.length).toBe(5);
    expect(bodies.every((b) => b.destroyed)).toBe(true);
  });
});
