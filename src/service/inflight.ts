import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { workspacePaths } from '../config/workspace-paths.js';
import { openRequestLedger } from '../store/open-request-ledger.js';
import type { BeginResult, RequestLedger } from '../store/request-ledger.js';
import { interruptedRecord, recordInterrupted } from './interrupted.js';
import { openMarkerLog } from './marker-log.js';
import { type Replica, replicaTimeout, startReplica } from './replica.js';
import type { RemoteCommand } from './requests.js';

/** A request the service is running: what `GET /v1/queue` lists and what an in-flight marker holds. */
export interface Job {
  id: string;
  command: RemoteCommand;
  /** The typed options as the caller sent them (uploads by digest). */
  options: unknown;
  /** The request as a person would have typed it: `commit s1`. */
  argv: string[];
  /** Who it is recorded as. */
  actor: string;
  startedAt: string;
  state: string;
}

/** The caller's idempotency key of a request, and a digest of what it asked (see idempotency.ts). */
export interface RequestKey {
  key: string;
  fingerprint: string;
}

/**
 * The running write requests of one service process, kept so that a crash is recorded: in the
 * shared store's request ledger when the store is a database (any live replica records a dead
 * one's requests), else as marker files on this disk (the next start records them). Either way a
 * marker also stays on this disk while the request runs, for `bake gc` (the uploads it names are
 * kept): a file of its own, or with a ledger a line of this process's marker file (marker-log.ts).
 * With a key, `begin` answers instead that the same request already ran (its answer, to send
 * again) or runs on a live replica; a key's answer is kept for an hour.
 */
export interface Inflight {
  /** The replica, when the store is shared; undefined for the JSON file store. */
  readonly replica: Replica | undefined;
  begin(job: Job, key: RequestKey | undefined): Promise<BeginResult>;
  /** Ends a request begun with `started`; `answer` is the last line sent (kept for a keyed retry). */
  end(job: Job, key: RequestKey | undefined, answer: string | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * Records as interrupted every request a previous process left behind, then returns the markers
 * for this process's requests. JSON store: the marker files of this workspace. Database: the
 * ledger's orphans (replica.ts), and this disk's marker files are only removed (the ledger holds
 * their requests).
 */
export async function startInflight(workspace: string, env: NodeJS.ProcessEnv): Promise<Inflight> {
  const dir = workspacePaths(workspace).inflight;
  const ledger = await openRequestLedger(workspace, env);
  if (ledger) await rm(dir, { recursive: true, force: true });
  else await reportInterrupted(workspace, dir);
  const replica = ledger ? await startReplica(workspace, ledger, replicaTimeout(env)) : undefined;
  if (!ledger || !replica) {
    // One marker file a request: the next start records each one left as an interrupted request.
    const local = localKeys();
    const file = (job: Job) => join(dir, `${job.id}.json`);
    return {
      replica,
      async begin(job, key) {
        const outcome = local.begin(key);
        if (outcome.kind === 'started') await writeMarker(dir, file(job), JSON.stringify(job));
        return outcome;
      },
      async end(job, key, answer) {
        await rm(file(job), { force: true });
        local.end(key, answer);
      },
      close: async () => undefined,
    };
  }
  // The ledger records crashes; the markers here only keep a running request's uploads from gc:
  // one file this process appends to (marker-log.ts), instead of a file made and removed a request.
  const markers = openMarkerLog(dir);
  return {
    replica,
    async begin(job, key) {
      const text = JSON.stringify(job);
      markers.add(job.id, text);
      const outcome = await beginShared(ledger, replica, job, text, key).catch((error: unknown) => {
        markers.remove(job.id);
        throw error;
      });
      if (outcome.kind !== 'started') markers.remove(job.id);
      return outcome;
    },
    async end(job, key, answer) {
      markers.remove(job.id);
      await ledger.finish(job.id, key ? answer : undefined);
    },
    async close() {
      markers.close();
      await replica.stop();
      await ledger.close();
    },
  };
}

/** Writes a marker file, making its directory when gc or a restart removed it. */
async function writeMarker(dir: string, file: string, text: string): Promise<void> {
  await writeFile(file, text).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
    await writeFile(file, text);
  });
}

/** Begins in the ledger; a key held by a replica that stopped beating is taken over once its request is recorded. */
async function beginShared(
  ledger: RequestLedger,
  replica: Replica,
  job: Job,
  text: string,
  key: RequestKey | undefined,
): Promise<BeginResult> {
  const request = {
    id: job.id,
    replica: replica.row.replica,
    ...(key && { key: key.key, fingerprint: key.fingerprint }),
    startedAt: job.startedAt,
    job: text,
  };
  const first = await ledger.begin(request);
  if (first.kind !== 'running') return first;
  // Its replica may be dead: the reaper records its request (if it is) and frees the key.
  await replica.reap();
  return ledger.begin(request);
}

/** Keys of one process without a shared store: running ones, and answers for an hour (at most 1 000). */
function localKeys() {
  const keys = new Map<string, { fingerprint: string; answer?: string; at: number }>();
  return {
    begin(key: RequestKey | undefined): BeginResult {
      if (!key) return { kind: 'started' };
      const held = keys.get(key.key);
      if (held && held.answer !== undefined && Date.now() - held.at < 3_600_000) {
        return { kind: 'finished', fingerprint: held.fingerprint, answer: held.answer };
      }
      if (held && held.answer === undefined) {
        return { kind: 'running', id: '', replica: 'this service', fingerprint: held.fingerprint, sinceBeatMs: 0 };
      }
      keys.set(key.key, { fingerprint: key.fingerprint, at: Date.now() });
      return { kind: 'started' };
    },
    end(key: RequestKey | undefined, answer: string | undefined): void {
      if (!key) return;
      if (answer === undefined) keys.delete(key.key);
      else keys.set(key.key, { fingerprint: key.fingerprint, answer, at: Date.now() });
      for (const oldest of keys.keys()) {
        if (keys.size <= 1000) break;
        keys.delete(oldest);
      }
    },
  };
}

async function reportInterrupted(workspace: string, dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.length === 0) return;
  const at = new Date().toISOString();
  const records = [];
  for (const name of names) records.push(interruptedRecord(await readFile(join(dir, name), 'utf8').catch(() => undefined), at));
  await recordInterrupted(workspace, records);
  for (const name of names) await rm(join(dir, name), { force: true });
}

/** Error codes (errno, PostgreSQL SQLSTATE, SQLite) of a store that cannot be reached or is busy for now. */
const TRANSIENT = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '08001',
  '08003',
  '08006',
]);

/**
 * Whether a failure of the ledger is the store being out of reach for now (a restart, the network,
 * a busy SQLite file), which a retry later or at another replica may cure; anything else (a
 * read-only disk) is reported as it is.
 */
export function storeUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (TRANSIENT.has(code) || code.startsWith('SQLITE_BUSY'))) return true;
    if (/Connection terminated|connection is closed|timeout exceeded when trying to connect/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}
