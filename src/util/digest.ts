import { createHash } from 'node:crypto';

/** An OCI digest string, `sha256:<64 hex>`. */
export type Digest = `sha256:${string}`;

/** sha256 digest of exact bytes, in OCI form. */
export function sha256Digest(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** True for a well-formed sha256 digest; anything else must never become a file name. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST.test(value);
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}
