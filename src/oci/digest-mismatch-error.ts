import { StoreError } from '../util/errors.js';
import type { Digest } from '../util/digest.js';

/**
 * Bytes offered to the store under a digest hash to another: refused, and nothing was stored
 * under either digest. `source` says where the bytes came from (a registry, for a fetched blob),
 * so the operator knows which copy is corrupt.
 */
export class DigestMismatchError extends StoreError {
  override name = 'DigestMismatchError';
  override readonly kind: string = 'digest-mismatch';

  constructor(
    message: string,
    readonly expected: Digest,
    readonly actual: Digest,
    readonly size: number,
    readonly source?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  override details(): Record<string, unknown> {
    return { expected: this.expected, actual: this.actual, size: this.size, ...(this.source !== undefined && { source: this.source }) };
  }
}
