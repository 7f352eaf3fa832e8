import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startReplica } from '../../src/service/replica.js';
import { openRequestLedger } from '../../src/store/open-request-ledger.js';
import type { RequestLedger } from '../../src/store/request-ledger.js';
import { closeWorkspaceStores } from '../../src/store/workspace-store.js';
import { manifestOf } from '../helpers/manifest.js';
import { ensureTestPostgres, scratchDatabase, type ScratchDatabase } from '../helpers/postgres.js';
import { tempDir } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

// The request ledger (src/store/request-ledger.ts) against both database stores, and the replica
// reaper over it: what one replica records of another that died, exactly once.
ensureTestPostgres();
const pg = requireTools('postgres');
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  await closeWorkspaceStores();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A workspace whose bake.yaml names the store (so every module in this process opens the same one). */
async function workspace(kind: 'sqlite' | 'postgres'): Promise<{ dir: string; ledger: RequestLedger; db?: ScratchDatabase }> {
  const { dir, cleanup } = await tempDir('ledger');
  cleanups.push(cleanup);
  const db = kind === 'postgres' ? await scratchDatabase('ledger') : undefined;
  if (db) cleanups.push(() => db.drop());
  await writeFile(join(dir, 'bake.yaml'), `database: ${db ? db.url : 'sqlite'}\nservices: {}\n`);
  const ledger = await openRequestLedger(dir, {});
  if (!ledger) throw new Error('no ledger for a database store');
  cleanups.push(() => ledger.close());
  return { dir, ledger, ...(db && { db }) };
}

const job = (id: string, command = 'commit') =>
  JSON.stringify({ id, command, options: {}, argv: [command, 's1'], actor: 'test', startedAt: 'now' });
const request = (id: string, replica: string, key?: string) => ({
  id,
  replica,
  ...(key && { key, fingerprint: `f-${key}` }),
  startedAt: new Date().toISOString(),
  job: job(id),
});
const row = (replica: string, pid = 1) => ({ replica, host: 'elsewhere', pid, startedAt: new Date().toISOString() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A PID that belonged to a process of this host that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe.each([
  { kind: 'sqlite' as const, skip: false },
  { kind: 'postgres' as const, skip: pg.skip },
])('the request ledger ($kind)', ({ kind, skip }) => {
  it.skipIf(skip)('keeps running requests, and a keyed request once: its retries see it running, then its answer', async () => {
    const { ledger } = await workspace(kind);
    await ledger.beat(row('r1'));
    expect(await ledger.begin(request('a', 'r1'))).toEqual({ kind: 'started' });
    expect(await ledger.begin(request('b', 'r1', 'key-0001'))).toEqual({ kind: 'started' });
    const again = await ledger.begin(request('c', 'r2', 'key-0001'));
    expect(again).toMatchObject({ kind: 'running', id: 'b', replica: 'r1', fingerprint: 'f-key-0001' });
    expect(again.kind === 'running' && again.sinceBeatMs).toBeGreaterThanOrEqual(0);
    await ledger.finish('b', '{"result":{"ok":true}}');
    expect(await ledger.begin(request('d', 'r2', 'key-0001'))).toEqual({
      kind: 'finished',
      fingerprint: 'f-key-0001',
      answer: '{"result":{"ok":true}}',
    });
    // Another replica's view: only unfinished requests, with how long ago their replica beat.
    const orphans = await ledger.orphans('r2');
    expect(orphans.map((o) => o.id)).toEqual(['a']);
    expect(orphans[0]).toMatchObject({ replica: 'r1', host: 'elsewhere', pid: 1, key: undefined });
    expect(await ledger.orphans('r1')).toEqual([]);
    await ledger.finish('a', undefined);
    expect(await ledger.orphans('r2')).toEqual([]);
    await sleep(20);
    await ledger.prune(10, 10);
    expect(await ledger.begin(request('e', 'r2', 'key-0001'))).toEqual({ kind: 'started' });
  });

  it.skipIf(skip)('lets exactly one of many racing requests with one key run', async () => {
    const { ledger } = await workspace(kind);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => ledger.begin(request(`r-${i}`, `replica-${i % 3}`, 'same-key-1'))),
    );
    expect(outcomes.filter((o) => o.kind === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'running')).toHaveLength(11);
  });

  it.skipIf(skip)(
    "records a dead replica's request as interrupted exactly once, however many replicas notice, and never a live one's",
    async () => {
      const { dir, ledger } = await workspace(kind);
      // A replica elsewhere that beat once and died mid-request; and one that never beat at all.
      await ledger.beat(row('dead-elsewhere'));
      await ledger.begin(request('lost-1', 'dead-elsewhere'));
      await ledger.begin(request('lost-2', 'never-beat'));
      const timeout = 800;
      const [a, b] = await Promise.all([startReplica(dir, ledger, timeout), startReplica(dir, ledger, timeout)]);
      try {
        // A live replica's running request is never taken for an orphan.
        await ledger.begin(request('alive-1', a.row.replica));
        // Nothing is judged by heartbeats before the judges have beaten for a whole timeout.
        expect((await manifestOf(dir)).interrupted ?? []).toEqual([]);
        await sleep(timeout * 2.5);
        await Promise.all([a.reap(), b.reap(), a.reap(), b.reap()]);
        const interrupted = (await manifestOf(dir)).interrupted ?? [];
        expect(interrupted.map((i) => i.id).sort()).toEqual(['lost-1', 'lost-2']);
        expect(interrupted.find((i) => i.id === 'lost-1')).toMatchObject({
          replica: 'elsewhere pid 1',
          argv: ['commit', 's1'],
          request: { command: 'commit', actor: 'test' },
          status: 'failed',
        });
        expect((await ledger.orphans('nobody')).map((o) => o.id)).toEqual(['alive-1']);
        expect((await manifestOf(dir)).generation).toBe(1);
      } finally {
        await a.stop();
        await b.stop();
      }
    },
  );

  it.skipIf(skip)(
    'records at once the request of a process of this host that is gone (a restart), without waiting for a timeout',
    async () => {
      const { dir, ledger } = await workspace(kind);
      const probe = await startReplica(dir, ledger, 60_000);
      const gone = { ...row('crashed-here', deadPid()), host: probe.row.host };
      await probe.stop();
      await ledger.beat(gone);
      await ledger.begin(request('crashed-1', 'crashed-here'));
      const restarted = await startReplica(dir, ledger, 60_000);
      try {
        expect(((await manifestOf(dir)).interrupted ?? []).map((i) => i.id)).toEqual(['crashed-1']);
      } finally {
        await restarted.stop();
      }
    },
  );
});
