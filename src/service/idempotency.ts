import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';
import type { RequestKey } from './inflight.js';
import type { RemoteRequest } from './requests.js';

/** The header a client names one logical request with, the same on every retry of it. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * The request's idempotency key and a digest of what it asks (command and options), or undefined
 * when the caller sent no key. The service runs a keyed request once: a retry (after a dropped
 * connection, or on another replica after one died) gets the first run's answer, or waits while it
 * runs. Throws HttpError 400 for a malformed key.
 */
export function requestKey(req: IncomingMessage, request: RemoteRequest): RequestKey | undefined {
  const raw = req.headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !KEY.test(raw)) {
    throw new HttpError(400, `the ${IDEMPOTENCY_HEADER} header must be 8 to 128 letters, digits or . _ : - (a UUID, say)`);
  }
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([request.command, request.options]))
    .digest('hex');
  return { key: raw, fingerprint };
}

/** Refuses a key that came with another request than the one it first named (422). */
export function assertSameRequest(key: RequestKey, fingerprint: string | undefined): void {
  if (fingerprint !== undefined && fingerprint !== key.fingerprint) {
    throw new HttpError(422, `the ${IDEMPOTENCY_HEADER} ${key.key} was already used for another request; send a new key for a new request`);
  }
}
