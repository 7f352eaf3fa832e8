import { execFileSync } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BakeError, UsageError } from '../../src/util/errors.js';
import { classifyError, InternalError } from '../../src/util/internal-error.js';
import { bake } from '../helpers/bake-cli.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { hostileTar } from './hostile-tar.js';
import { command, serve, tokenFile, upload, WRITE, type Served } from './service-harness.js';

// Every failure that reaches a user or a remote client is a classified error with a message and a
// fix: no JavaScript stack trace, and no path of the server in what a remote client reads.

const STACK = /\n\s+at |\bat [\w.<>]+ \(|node:internal/;

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
}

describe('classifyError', () => {
  it.each([
    ['EROFS', /read-only/],
    ['ENOSPC', /no space left/],
    ['EACCES', /permission denied/],
    ['EPERM', /not permitted/],
    ['EMFILE', /too many open files/],
  ])('%s becomes an internal error naming the operation, with a fix', (code, says) => {
    const error = classifyError(errno(code, 'open', '/srv/secret/.bake/manifest.json'));
    expect(error).toBeInstanceOf(InternalError);
    expect(error.kind).toBe('internal');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(says);
    expect(error.message).toContain('open');
    expect(error.message).not.toContain('/srv/secret');
    expect(error.details()).toMatchObject({ operation: 'open', code, fix: expect.any(String) });
    // The local CLI names the file: its user owns the machine.
    expect(classifyError(errno(code, 'open', '/srv/secret/x'), { local: true }).message).toContain('/srv/secret/x');
  });

  it('classifies an out-of-range value and a plain bug without their text or stack', () => {
    const range = classifyError(new RangeError('Invalid time value at /srv/secret'));
    expect(range).toMatchObject({ kind: 'internal', operation: 'range' });
    expect(range.message).not.toContain('/srv/secret');
    const bug = classifyError(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(bug).toMatchObject({ kind: 'internal', operation: 'unknown' });
    expect(bug.message).not.toMatch(STACK);
  });

  it('keeps classified errors as they are', () => {
    const usage = new UsageError('bad flag');
    expect(classifyError(usage)).toBe(usage);
    expect(classifyError(new BakeError('x'))).toBeInstanceOf(BakeError);
  });
});

/** Makes a directory unwritable even for root (immutable), or by mode for anyone else. */
function freeze(dir: string, on: boolean): void {
  if (process.getuid?.() === 0) execFileSync('chattr', [on ? '+i' : '-i', dir]);
  else execFileSync('chmod', [on ? '0555' : '0755', dir]);
}

describe('failures of the file system, locally and through the service', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let served: Served;
  let frozen: string[] = [];
  beforeAll(async () => {
    ws = await raceWorkspace(['s1'], { one: ['s1'] });
    served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir)]);
  });
  afterAll(async () => {
    for (const dir of frozen) freeze(dir, false);
    await served?.stop();
    await ws?.cleanup();
  });

  it('a read-only .bake reaches the remote client classified, without stack or server path', async () => {
    const hex = (await upload(served, hostileTar([{ name: 'VERSION', body: 'one\n' }]))).json.upload as string;
    const bakeDir = join(ws.dir, '.bake');
    freeze(bakeDir, true);
    frozen.push(bakeDir);
    try {
      const answer = await command(served, { command: 'commit', options: { services: [{ service: 's1', upload: hex }] } });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      const error = answer.json?.error ?? JSON.parse(answer.text.trim().split('\n').at(-1) ?? '{}').error;
      expect(error.kind).toMatch(/internal|lock/);
      expect(error.message).toBeTruthy();
      expect(answer.text).not.toContain(ws.dir);
      expect(answer.text).not.toMatch(STACK);
      // The client prints the same: a message, exit 1, nothing more.
      const from = join(ws.dir, 'services', 's1');
      const run = await bake(['commit', 's1', '--from', from], {
        cwd: ws.dir,
        env: { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: WRITE },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^bake: /);
      expect(run.stderr).not.toMatch(STACK);
      expect(run.stderr).not.toContain(ws.dir);
    } finally {
      freeze(bakeDir, false);
      frozen = frozen.filter((d) => d !== bakeDir);
    }
  });

  it('an unwritable store is an internal error with a fix locally; BAKE_DEBUG shows the cause', async () => {
    const from = join(ws.dir, '.work', 'v');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'first\n');
    expect((await bake(['-C', ws.dir, 'commit', 's1', '--from', from])).exitCode).toBe(0);
    const blobs = join(ws.dir, '.bake', 'store', 'blobs', 'sha256');
    await writeFile(join(from, 'VERSION'), 'second\n');
    freeze(blobs, true);
    frozen.push(blobs);
    try {
      const run = await bake(['-C', ws.dir, '--json', 'commit', 's1', '--from', from]);
      expect(run.exitCode).toBe(1);
      expect(run.json.error).toMatchObject({ kind: 'internal', operation: expect.any(String), fix: expect.any(String) });
      expect(run.stderr).toMatch(/^bake: internal error: .*\(fix: /);
      expect(run.stderr).not.toMatch(STACK);
      const debug = await bake(['-C', ws.dir, 'commit', 's1', '--from', from], { env: { BAKE_DEBUG: '*' } });
      expect(debug.stderr).toMatch(/cause: /);
    } finally {
      freeze(blobs, false);
      frozen = frozen.filter((d) => d !== blobs);
      await chmod(blobs, 0o755);
    }
  });
});
