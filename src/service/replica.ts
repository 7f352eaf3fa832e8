import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OrphanRequest, ReplicaRow, RequestLedger } from '../store/request-ledger.js';
import { createLogger } from '../util/log.js';
import { isProcessAlive } from '../util/process-alive.js';
import { interruptedRecord, recordInterrupted } from './interrupted.js';

/** How long a replica may go without a heartbeat before its requests count as interrupted (BAKE_REPLICA_TIMEOUT_MS). */
export const DEFAULT_REPLICA_TIMEOUT_MS = 15_000;
/** How long a finished request's answer is kept for a retry with its idempotency key. */
const ANSWER_TTL_MS = 60 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const log = createLogger('service');
/** The replicas of this process (tests and benchmarks run several in one): never taken for dead ones on this host. */
const LIVE = new Set<string>();

/**
 * One `bake serve` process as its peers in a shared store see it: a heartbeat row beaten every
 * fifth of the timeout, and a reaper that records as interrupted every request whose replica
 * stopped beating (recordInterrupted: once, however many replicas notice). Two rules keep a live
 * replica from being declared dead: a replica judges others by heartbeats only once its own have
 * reached the database for a whole timeout (after a database outage every heartbeat is old); and a
 * request of a process on this very host and PID namespace whose PID is gone is dead at once.
 */
export interface Replica {
  readonly row: ReplicaRow;
  /** `host pid N`, as records name the replica. */
  readonly name: string;
  /** Whether its heartbeats reach the store (false once they failed for half the timeout): the health check. */
  healthy(): boolean;
  /** Records the requests of dead replicas now; resolves with how many were recorded. */
  reap(): Promise<number>;
  /** Stops beating and removes its heartbeat row. */
  stop(): Promise<void>;
}

export async function startReplica(workspace: string, ledger: RequestLedger, timeoutMs: number): Promise<Replica> {
  const row: ReplicaRow = { replica: randomUUID(), host: hostKey(), pid: process.pid, startedAt: new Date().toISOString() };
  const name = `${hostname()} pid ${process.pid}`;
  let lastBeat = 0;
  let beatingSince: number | undefined;
  let lastPrune = 0;
  let reaping: Promise<number> = Promise.resolve(0);

  const beat = async () => {
    try {
      await ledger.beat(row);
      lastBeat = Date.now();
      beatingSince ??= lastBeat;
    } catch (error) {
      beatingSince = undefined;
      log.debug('heartbeat failed', { error: String(error) });
      throw error;
    }
  };
  const dead = (orphan: OrphanRequest) => {
    if (LIVE.has(orphan.replica)) return false;
    if (orphan.host === row.host && orphan.pid !== undefined && (orphan.pid === process.pid || !isProcessAlive(orphan.pid))) return true;
    const trusted = beatingSince !== undefined && Date.now() - beatingSince >= timeoutMs;
    return trusted && (orphan.sinceBeatMs === undefined || orphan.sinceBeatMs > timeoutMs);
  };
  const reapOnce = async () => {
    const orphans = (await ledger.orphans(row.replica)).filter(dead);
    if (orphans.length === 0) return 0;
    const at = new Date().toISOString();
    const records = orphans.map((o) => interruptedRecord(o.job, at, { id: o.id, replica: replicaName(o) }));
    const added = await recordInterrupted(workspace, records);
    await ledger.forget(orphans.map((o) => o.id));
    return added;
  };
  const reap = () => {
    // One reap at a time in this process; replicas racing each other meet at the store's write lock.
    const run = reaping.then(reapOnce, reapOnce);
    reaping = run.catch(() => 0);
    return run;
  };
  const tick = async () => {
    await beat();
    await reap();
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      await ledger.prune(ANSWER_TTL_MS, Math.max(ANSWER_TTL_MS, 10 * timeoutMs));
    }
  };

  LIVE.add(row.replica);
  try {
    await beat();
    await reap();
  } catch (error) {
    LIVE.delete(row.replica);
    throw error;
  }
  const timer = setInterval(
    () => {
      tick().catch((error: unknown) => log.debug('replica tick failed', { error: String(error) }));
    },
    Math.max(100, Math.floor(timeoutMs / 5)),
  );
  timer.unref();
  return {
    row,
    name,
    healthy: () => Date.now() - lastBeat < timeoutMs / 2,
    reap,
    async stop() {
      clearInterval(timer);
      LIVE.delete(row.replica);
      await reaping;
      await ledger.leave(row.replica).catch(() => undefined);
    },
  };
}

/** BAKE_REPLICA_TIMEOUT_MS, else the default; throws RangeError text for the caller to classify. */
export function replicaTimeout(env: NodeJS.ProcessEnv): number {
  const raw = env['BAKE_REPLICA_TIMEOUT_MS'];
  if (raw === undefined || raw === '') return DEFAULT_REPLICA_TIMEOUT_MS;
  const ms = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 500 || ms > 3_600_000) {
    throw new RangeError(`BAKE_REPLICA_TIMEOUT_MS takes milliseconds from 500 to 3600000, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

/**
 * This process's host as replicas compare it: the host name, the boot and the PID namespace, so a
 * PID means the same process only where all three agree (two containers with one host name do not).
 * Without /proc, a random value: no other replica is ever taken for one on this host.
 */
function hostKey(): string {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return `${hostname()} ${boot} ${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return `${hostname()} ${randomUUID()}`;
  }
}

function replicaName(orphan: OrphanRequest): string {
  const host = orphan.host?.split(' ')[0];
  return host !== undefined && orphan.pid !== undefined ? `${host} pid ${orphan.pid}` : `replica ${orphan.replica}`;
}
