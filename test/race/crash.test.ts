import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/manifest/manifest-file.js';
import { raceWorkspace } from './race-workspace.js';

const exec = promisify(execFile);
const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');
const STALE_MS = 2000;
const env = { ...process.env, BAKE_LOCK_STALE_MS: String(STALE_MS) };

async function bake(ws: string, args: string[]) {
  const { stdout } = await exec(process.execPath, [BAKE, '-C', ws, '--json', ...args], { env });
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

describe('crash safety (SIGKILL)', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  beforeAll(async () => {
    ws = await raceWorkspace(['a', 'b'], { ab: ['a', 'b'] });
    await bake(ws.dir, ['commit', '--all']);
  });
  afterAll(() => ws?.cleanup());

  it('reclaims the lock of a holder killed while holding it, within the stale time', async () => {
    const holder = spawn(process.execPath, [join(__dirname, 'lock-holder.mjs'), ws.dir, String(STALE_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (d) => String(d).includes('locked') && resolve());
      holder.on('exit', () => reject(new Error('holder exited early')));
    });
    // While it lives, a waiter names it.
    const waiter = spawn(process.execPath, [BAKE, '-C', ws.dir, 'status'], {
      env: { ...env, BAKE_LOCK_TIMEOUT_MS: '1500' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const waiterCommit = spawn(process.execPath, [BAKE, '-C', ws.dir, 'build', 'ab'], {
      env: { ...env, BAKE_LOCK_TIMEOUT_MS: '1200' },
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
    const result = await bake(ws.dir, ['build', 'ab']);
    const waited = Date.now() - started;
    expect(result.builds[0].build).toBe(1);
    // proper-lockfile declares a lock stale once its mtime is older than STALE_MS; allow the
    // retry back-off and process start on top.
    expect(waited).toBeLessThan(STALE_MS + 5000);
    expect((await readManifest(join(ws.dir, '.bake', 'manifest.json'))).generation).toBeGreaterThan(0);
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
    const meanwhile = await bake(ws.dir, ['commit', 'a', '--from', from]);
    expect(meanwhile.commits[0].created).toBe(true);
    slow.kill('SIGCONT');
    await exited;
    expect(out).toMatch(/refused: LockError: lost the lock/);
    const manifest = await readManifest(join(ws.dir, '.bake', 'manifest.json'));
    expect(manifest.services['slow-writer-was-here']).toBeUndefined();
    expect(manifest.services['a']?.versions.at(-1)?.digest).toBe(meanwhile.commits[0].digest);
  }, 30_000);

  it('keeps the manifest and the store valid when commits and builds are killed at random instants', async () => {
    let killed = 0;
    for (let i = 0; i < 16; i++) {
      const from = join(ws.dir, '.work', `k${i}`);
      await mkdir(from, { recursive: true });
      await writeFile(join(from, 'VERSION'), `kill ${i}\n`);
      const args = i % 3 === 2 ? ['build', 'ab'] : ['commit', i % 2 ? 'a' : 'b', '--from', from];
      const child = spawn(process.execPath, [BAKE, '-C', ws.dir, '--json', ...args], { env, stdio: 'ignore' });
      const closed = new Promise((r) => child.once('close', r));
      const delay = 40 + ((i * 37) % 260);
      await new Promise((r) => setTimeout(r, delay));
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        killed++;
      }
      await closed;
      // After every kill, the manifest parses and is self-consistent.
      const manifest = await readManifest(join(ws.dir, '.bake', 'manifest.json'));
      for (const history of Object.values(manifest.services)) {
        expect(history.versions.map((v) => v.version)).toEqual(history.versions.map((_, n) => n + 1));
      }
      await assertStoreValid(ws.dir);
    }
    expect(killed).toBeGreaterThan(0);
    // And the next command succeeds (a killed holder's lock is reclaimed).
    const from = join(ws.dir, '.work', 'after');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'after the crashes\n');
    const result = await bake(ws.dir, ['commit', 'a', '--from', from]);
    expect(result.commits[0].created).toBe(true);
    const manifest = await readManifest(join(ws.dir, '.bake', 'manifest.json'));
    for (const build of Object.values(manifest.builds).flat()) {
      expect(await readFile(join(ws.dir, '.bake', 'store', 'blobs', 'sha256', build.digest.slice(7)))).toBeTruthy();
    }
  }, 180_000);
});
