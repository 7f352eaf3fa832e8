import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestOf } from '../helpers/manifest.js';
import { type OpenStore, stores } from '../helpers/stores.js';
import { raceWorkspace } from './race-workspace.js';

const exec = promisify(execFile);
const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');
const STALE_MS = 2000;
const lockEnv = { ...process.env, BAKE_LOCK_STALE_MS: String(STALE_MS) };

async function bake(ws: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await exec(process.execPath, [BAKE, '-C', ws, '--json', ...args], { env: { ...lockEnv, ...env } });
  return JSON.parse(stdout);
}

/** Every blob in the store must hash to its own name: nothing half-written is visible. */
async function assertStoreValid(ws: string) {
  const blobs = join(ws, '.bake', 'store', 'blobs', 'sha256');
  for (const name of await readdir(blobs)) {
    if (name.startsWith('.tmp-')) continue; // a dead writer's temp file: never under a digest
    const hex = createHash('sha256')
      .update(await readFile(join(blobs, name)))
      .digest('hex');
    expect(hex, `blob ${name}`).toBe(name);
  }
  JSON.parse(await readFile(join(ws, '.bake', 'store', 'index.json'), 'utf8'));
}

/** Starts a helper script and resolves once it printed `line` (it holds what it holds from then on). */
async function startHolder(script: string, args: string[], line: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const holder = spawn(process.execPath, [join(__dirname, script), ...args], {
    env: { ...lockEnv, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (d) => String(d).includes(line) && resolve());
    holder.on('exit', () => reject(new Error(`${script} exited early`)));
  });
  return holder;
}

async function killed(child: ChildProcess): Promise<void> {
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await closed;
}

// The JSON file store (BAKE_DATABASE_URL=json) keeps its lock in a lock file: a dead holder's lock is
// reclaimed once it is stale, and so is a frozen one's, whose guarded write must then be refused.
describe('crash safety (SIGKILL), JSON file store', () => {
  const json = { BAKE_DATABASE_URL: 'json' };
  let ws: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    ws = await raceWorkspace(['a', 'b'], { ab: ['a', 'b'] });
    await bake(ws.dir, ['commit', '--all'], json);
  });
  afterAll(() => ws?.cleanup());

  it('reclaims the lock of a holder killed while holding it, within the stale time', async () => {
    const holder = await startHolder('lock-holder.mjs', [ws.dir, String(STALE_MS)], 'locked', json);
    // While it lives, a waiter names it.
    const waiter = spawn(process.execPath, [BAKE, '-C', ws.dir, 'status'], {
      env: { ...lockEnv, ...json, BAKE_LOCK_TIMEOUT_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const waiterCommit = spawn(process.execPath, [BAKE, '-C', ws.dir, 'build', 'ab'], {
      env: { ...lockEnv, ...json, BAKE_LOCK_TIMEOUT_MS: '1200' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    waiterCommit.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((r) => waiterCommit.once('close', r));
    waiter.kill();
    expect(code).toBe(1);
    expect(stderr).toContain(`waiting for the manifest lock held by PID ${holder.pid}`);
    expect(stderr).toMatch(/timed out waiting for lock .* held by PID \d+ .* \(crash test holder\)/);
    holder.kill('SIGKILL');
    const started = Date.now();
    const result = await bake(ws.dir, ['build', 'ab'], json);
    const waited = Date.now() - started;
    expect(result.builds[0].build).toBe(1);
    // proper-lockfile declares a lock stale once its mtime is older than STALE_MS; allow the
    // retry back-off and process start on top.
    expect(waited).toBeLessThan(STALE_MS + 5000);
    expect((await manifestOf(ws.dir, json)).generation).toBeGreaterThan(0);
    expect(existsSync(join(ws.dir, '.bake', 'state.db'))).toBe(false);
  });

  it('aborts the guarded write of a holder whose lock was reclaimed while it was frozen', async () => {
    const slow = spawn(process.execPath, [join(__dirname, 'slow-writer.mjs'), ws.dir, String(STALE_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    slow.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => slow.once('close', r));
    await new Promise<void>((resolve) => slow.stdout.on('data', () => out.includes('locked') && resolve()));
    slow.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, STALE_MS + 1000));
    const from = join(ws.dir, '.work', 'meanwhile');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'committed while the holder was frozen\n');
    const meanwhile = await bake(ws.dir, ['commit', 'a', '--from', from], json);
    expect(meanwhile.commits[0].created).toBe(true);
    slow.kill('SIGCONT');
    await exited;
    expect(out).toMatch(/refused: LockError: lost the lock/);
    const manifest = await manifestOf(ws.dir, json);
    expect(manifest.services['slow-writer-was-here']).toBeUndefined();
    expect(manifest.services['a']?.versions.at(-1)?.digest).toBe(meanwhile.commits[0].digest);
  }, 30_000);
});

// A database store's write lock belongs to the writer's connection: the operating system (SQLite) or
// the server (PostgreSQL) ends it with the process, so a killed writer is never waited for, and what
// it wrote but did not commit is gone. (A frozen, live writer cannot be robbed of it: unlike the
// file store's stale lock, the others wait, up to BAKE_LOCK_TIMEOUT_MS.)
describe.each(stores('sqlite', 'postgres'))('crash safety (SIGKILL), $kind store', (store) => {
  let db: OpenStore;
  let ws: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    if (store.skip) return;
    db = await store.open();
    ws = await raceWorkspace(['a', 'b'], { ab: ['a', 'b'] });
    await bake(ws.dir, ['commit', '--all'], db.env);
  });
  afterAll(async () => {
    await ws?.cleanup();
    await db?.cleanup();
  });

  it.skipIf(store.skip)('makes writers wait for a live holder, and lets the next one in as soon as it is killed', async () => {
    const holder = await startHolder('store-holder.mjs', [ws.dir, 'hold'], 'locked', db.env);
    try {
      const waiter = spawn(process.execPath, [BAKE, '-C', ws.dir, 'build', 'ab'], {
        env: { ...lockEnv, ...db.env, BAKE_LOCK_TIMEOUT_MS: '1200' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      waiter.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise((r) => waiter.once('close', r));
      expect(code, stderr).toBe(1);
      expect(stderr).toContain('waiting for the manifest lock');
      expect(stderr).toMatch(/timed out after 1200 ms waiting for /);
      // Reads never wait for a writer.
      const status = await bake(ws.dir, ['status'], { ...db.env, BAKE_LOCK_TIMEOUT_MS: '1200' });
      expect(status.generation).toBe(1);
    } finally {
      await killed(holder);
    }
    const started = Date.now();
    const result = await bake(ws.dir, ['build', 'ab'], db.env);
    const waited = Date.now() - started;
    expect(result.builds[0].build).toBe(1);
    // No stale time to wait out: only process start and the bake itself.
    expect(waited).toBeLessThan(STALE_MS + 3000);
    expect((await manifestOf(ws.dir, db.env)).generation).toBe(2);
  });

  it.skipIf(store.skip)('leaves nothing of a write killed after its rows were written and before COMMIT', async () => {
    const before = await manifestOf(ws.dir, db.env);
    const holder = await startHolder('store-holder.mjs', [ws.dir, 'written'], 'written', db.env);
    try {
      if (store.kind === 'sqlite') {
        // The uncommitted pages really are on disk (spilled into the WAL), not only in the writer's memory.
        expect((await stat(join(ws.dir, '.bake', 'state.db-wal'))).size).toBeGreaterThan(1 << 20);
      }
      // Meanwhile readers see the last committed state.
      expect(await manifestOf(ws.dir, db.env)).toEqual(before);
    } finally {
      await killed(holder);
    }
    const after = await manifestOf(ws.dir, db.env);
    expect(after).toEqual(before);
    expect(after.services['half-written']).toBeUndefined();
    const from = join(ws.dir, '.work', 'after-written');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'after the killed writer\n');
    const result = await bake(ws.dir, ['commit', 'a', '--from', from], { ...db.env, BAKE_LOCK_TIMEOUT_MS: '5000' });
    expect(result.commits[0]).toMatchObject({ version: 2, created: true });
    expect((await manifestOf(ws.dir, db.env)).generation).toBe(before.generation + 1);
    db.assertUsedBy(ws.dir);
  });
});

describe.each(stores('json', 'sqlite', 'postgres'))('crash safety (SIGKILL) at random instants, $kind store', (store) => {
  let db: OpenStore;
  let ws: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    if (store.skip) return;
    db = await store.open();
    ws = await raceWorkspace(['a', 'b'], { ab: ['a', 'b'] });
    await bake(ws.dir, ['commit', '--all'], db.env);
  });
  afterAll(async () => {
    await ws?.cleanup();
    await db?.cleanup();
  });

  it.skipIf(store.skip)(
    'keeps the manifest and the store valid when commits and builds are killed at random instants',
    async () => {
      let kills = 0;
      for (let i = 0; i < 16; i++) {
        const from = join(ws.dir, '.work', `k${i}`);
        await mkdir(from, { recursive: true });
        await writeFile(join(from, 'VERSION'), `kill ${i}\n`);
        const args = i % 3 === 2 ? ['build', 'ab'] : ['commit', i % 2 ? 'a' : 'b', '--from', from];
        const child = spawn(process.execPath, [BAKE, '-C', ws.dir, '--json', ...args], { env: { ...lockEnv, ...db.env }, stdio: 'ignore' });
        const closed = new Promise((r) => child.once('close', r));
        const delay = 40 + ((i * 37) % 260);
        await new Promise((r) => setTimeout(r, delay));
        if (child.exitCode === null) {
          child.kill('SIGKILL');
          kills++;
        }
        await closed;
        // After every kill, the manifest reads and is self-consistent.
        const manifest = await manifestOf(ws.dir, db.env);
        for (const history of Object.values(manifest.services)) {
          expect(history.versions.map((v) => v.version)).toEqual(history.versions.map((_, n) => n + 1));
        }
        await assertStoreValid(ws.dir);
      }
      expect(kills).toBeGreaterThan(0);
      // And the next command succeeds (a killed holder's lock is reclaimed, or was never left behind).
      const from = join(ws.dir, '.work', 'after');
      await mkdir(from, { recursive: true });
      await writeFile(join(from, 'VERSION'), 'after the crashes\n');
      const result = await bake(ws.dir, ['commit', 'a', '--from', from], db.env);
      expect(result.commits[0].created).toBe(true);
      const manifest = await manifestOf(ws.dir, db.env);
      for (const build of Object.values(manifest.builds).flat()) {
        expect(await readFile(join(ws.dir, '.bake', 'store', 'blobs', 'sha256', build.digest.slice(7)))).toBeTruthy();
      }
      db.assertUsedBy(ws.dir);
    },
    180_000,
  );
});
