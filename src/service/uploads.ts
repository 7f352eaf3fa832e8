import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BakeError } from '../util/errors.js';
import { assertSafeEntries } from '../tree/safe-entries.js';
import { readTar } from '../layer/tar.js';
import { materialize } from '../source/materialize.js';
import { isDigest } from '../util/digest.js';
import { copyHashed } from '../util/hashed-copy.js';

/** An upload that does not match its digest, is too large, or holds unsafe paths. */
export class UploadError extends BakeError {
  override name = 'UploadError';
  override readonly kind: string = 'upload';
  override readonly exitCode: number = 2;
}

/**
 * Receives a tar stream of a service's committed tree, verifies it against the digest the client
 * computed, checks every path, and unpacks it under `<workspace>/.bake/uploads/<hex>/`. Returns
 * that directory; an identical upload is unpacked once. Throws UploadError; on any failure
 * nothing is left behind.
 */
export async function receiveUpload(workspace: string, digest: string, body: Readable, maxBytes: number): Promise<string> {
  if (!isDigest(digest)) throw new UploadError(`upload digest ${JSON.stringify(digest)} is not sha256:<64 hex>`);
  const root = join(workspace, '.bake', 'uploads');
  const dir = join(root, digest.slice(7));
  if (
    await stat(dir).then(
      () => true,
      () => false,
    )
  ) {
    body.resume();
    return dir;
  }
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.tmp-${randomBytes(6).toString('hex')}`);
  const tarFile = `${tmp}.tar`;
  try {
    const tooLarge = () => new UploadError(`upload larger than ${maxBytes} bytes`);
    const { digest: actual } = await copyHashed(body, tarFile, { maxBytes, tooLarge });
    if (actual !== digest) throw new UploadError(`upload does not match its digest: expected ${digest}, got ${actual}`);
    const entries = await readTar(createReadStream(tarFile), `upload ${digest.slice(0, 19)}`);
    assertSafeEntries(entries, { label: `upload ${digest.slice(0, 19)}`, links: 'contained' });
    await materialize(entries, tmp);
    await rename(tmp, dir);
    return dir;
  } finally {
    await rm(tarFile, { force: true });
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The directory of an earlier upload, named by the hex of its digest. The name is checked
 * before it touches a path, so a caller can only ever reach `.bake/uploads/<64 hex>/`. Throws
 * UploadError when it is malformed or was never uploaded.
 */
export async function uploadedTree(workspace: string, hex: string): Promise<string> {
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new UploadError(`upload ${JSON.stringify(hex)} is not the 64 hex digits of a digest`);
  const dir = join(workspace, '.bake', 'uploads', hex);
  const present = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!present) throw new UploadError(`no upload sha256:${hex}; POST it to /v1/uploads first`);
  return dir;
}
