import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { LockError } from '../util/errors.js';
import { createLogger } from '../util/log.js';

/**
 * The owner of proper-lockfile. A lock is scoped to a callback and released in `finally`.
 * Retrying is ours (proper-lockfile's `retries` allocates one timer per retry on every call), with
 * jittered backoff bounded by `timeoutMs`. While waiting we name the holder, which we record in an
 * owner file beside the lock because proper-lockfile keeps no such information.
 */

const log = createLogger('lock');

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  purpose: string;
  /** Random per acquisition: tells this holder from a later one with the same PID. */
  token: string;
}

export interface LockOptions {
  /** Why the lock is taken, shown to whoever waits for it. */
  purpose: string;
  /** A holder that stopped refreshing its lock this long ago is considered dead. */
  staleMs?: number;
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** Called once if we have to wait, with the current holder when known. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export interface LockContext {
  /** Aborted if the lock is lost while held (its directory was removed or taken over). */
  signal: AbortSignal;
  /**
   * Throws LockError unless the lock is still ours, checked against the owner record we wrote.
   * Call it right before a write: proper-lockfile notices a takeover only on its next refresh,
   * so a process frozen past the stale time could otherwise write over its successor.
   */
  assertHeld(): Promise<void>;
}

const DEFAULT_STALE_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_POLL_MS = 50;

/**
 * Runs `fn` while holding an exclusive lock on `target` (which need not exist). Throws LockError
 * when the lock cannot be had within the timeout, or when it was compromised while `fn` ran.
 */
export async function withFileLock<T>(target: string, options: LockOptions, fn: (ctx: LockContext) => Promise<T>): Promise<T> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const controller = new AbortController();
  let compromised: Error | undefined;
  const release = await acquire(target, options, staleMs, (error) => {
    // proper-lockfile's default is to throw from a timer; instead, stop the guarded work.
    compromised = error;
    controller.abort(lostLock(target, error));
  });
  const ownerFile = `${target}.owner`;
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    purpose: options.purpose,
    token: randomBytes(8).toString('hex'),
  };
  const assertHeld = async () => {
    controller.signal.throwIfAborted();
    const current = await readHolder(target);
    if (current?.token !== holder.token) {
      const error = lostLock(
        target,
        new Error(current ? `now held by PID ${current.pid} since ${current.since}` : 'the lock was released by another process'),
      );
      compromised = error;
      controller.abort(error);
      throw error;
    }
  };
  try {
    // Synchronous on purpose: ~20 µs, where an async write is three thread-pool round trips
    // added to every hold of a contended lock.
    writeFileSync(ownerFile, JSON.stringify(holder));
    const result = await fn({ signal: controller.signal, assertHeld });
    if (compromised) throw lostLock(target, compromised);
    return result;
  } finally {
    // The owner record is left for the next holder to overwrite: removing it would lengthen every
    // hold by a syscall, and the token (not the file's presence) is what fencing checks.
    if (!compromised) await release().catch((error: unknown) => log.debug('release failed', { target, error: String(error) }));
  }
}

async function acquire(
  target: string,
  options: LockOptions,
  staleMs: number,
  onCompromised: (error: Error) => void,
): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let delay = 2;
  let warned = false;
  for (;;) {
    try {
      return await lockfile.lock(target, {
        realpath: false,
        stale: staleMs,
        update: Math.max(1000, Math.floor(staleMs / 4)),
        retries: 0,
        onCompromised,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // The directory does not exist yet: create it once, only when needed (it costs a syscall).
        await mkdir(dirname(target), { recursive: true });
        continue;
      }
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw new LockError(`cannot lock ${target}: ${(error as Error).message}`, { cause: error });
      }
      if (!warned) {
        warned = true;
        options.onWait?.(await readHolder(target));
      }
      if (Date.now() > deadline) {
        const holder = await readHolder(target);
        throw new LockError(
          `timed out waiting for lock ${target}${holder ? ` held by PID ${holder.pid} on ${holder.host} since ${holder.since} (${holder.purpose})` : ''}; ` +
            `if that process is gone, the lock is reclaimed ${staleMs} ms after its last refresh`,
          { cause: error },
        );
      }
      // Jittered exponential back-off: every poll is a syscall and a wake-up, and on two cores
      // sixteen eager pollers slow the holder down more than they gain.
      await sleep(delay * (0.5 + Math.random()));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  }
}

/** `waiting for the manifest lock held by PID 123 on host since … (commit cart)` */
export function waitingMessage(holder: LockHolder | undefined, what = 'the manifest lock'): string {
  return `waiting for ${what}${holder ? ` held by PID ${holder.pid} on ${holder.host} since ${holder.since} (${holder.purpose})` : ''}`;
}

/** Reads who holds the lock on `target`, if it left a readable owner record. */
export async function readHolder(target: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await readFile(`${target}.owner`, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function lostLock(target: string, cause: Error): LockError {
  return new LockError(`lost the lock on ${target} while holding it (another process reclaimed it as stale); the work was not recorded`, {
    cause,
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
