import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raceWorkspace } from '../race/race-workspace.js';
import { hostileTar } from './hostile-tar.js';
import { clientHeaders, command, send, serve, tokenFile, type Served } from './service-harness.js';

// Endless and slow bodies: a client that trickles a body (1 byte a second keeps a plain idle
// timer happy) is cut within one window of the body timeout, and an upload of 900 MiB streams to
// disk with the service's memory bounded.

/** Sends headers, then one byte a second; resolves with what came back and when the connection closed. */
function trickle(port: number, path: string, type: string, seconds: number): Promise<{ answer: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    const headers = Object.entries({ ...clientHeaders(port, type), 'content-length': '10000' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.write(`POST ${path} HTTP/1.1\r\n${headers}\r\n{`);
    let sent = 0;
    const timer = setInterval(() => {
      if (++sent > seconds || socket.destroyed) return clearInterval(timer);
      socket.write('"');
    }, 1000);
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, closedAfterMs: Date.now() - started });
    });
  });
}

describe('slow bodies', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let served: Served;
  beforeAll(async () => {
    ws = await raceWorkspace(['s1'], { one: ['s1'] });
    served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir)], { BAKE_SERVICE_BODY_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await served?.stop();
    await ws?.cleanup();
  });

  it.each([
    ['a command', '/v1/commands', 'application/json'],
    ['an upload', `/v1/uploads?digest=sha256:${'0'.repeat(64)}`, 'application/x-tar'],
  ])('%s sent at 1 byte per second is cut with 408 and the connection closed', async (_name, path, type) => {
    const { answer, closedAfterMs } = await trickle(served.port, path, type, 20);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toMatch(/stalled/);
    expect(closedAfterMs).toBeGreaterThan(1500);
    expect(closedAfterMs).toBeLessThan(8000);
  });

  it('a body that stops altogether is cut the same way', async () => {
    const { answer, closedAfterMs } = await trickle(served.port, '/v1/commands', 'application/json', 0);
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(closedAfterMs).toBeLessThan(8000);
  });

  it('a prompt client is not affected, and the service still answers', async () => {
    const answer = await command(served, { command: 'status', options: {} });
    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(/"result"/);
  });
});

const MiB = 1 << 20;
const FILES = 9;
const FILE_BYTES = 100 * MiB;

/** A 900 MiB tar generated as it is read: nine 100 MiB files, never held in memory. */
function* bigTar(): Generator<Buffer> {
  for (let i = 0; i < FILES; i++) {
    // A header of the right size, taken from the corpus builder (its first 512 bytes).
    yield hostileTar([{ name: `blob-${i}`, size: FILE_BYTES, body: '' }]).subarray(0, 512);
    // A fresh buffer each time: a chunk may still wait in a socket's queue when the next is made.
    for (let n = 0; n < FILE_BYTES / MiB; n++) yield Buffer.alloc(MiB, `${i}:${n};`);
  }
  yield Buffer.alloc(1024);
}

/** The service process's peak resident memory in bytes (VmHWM), from /proc. */
async function peakMemory(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error('no VmHWM in /proc/PID/status');
  return Number(kb) * 1024;
}

describe('a 900 MiB upload', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let served: Served;
  beforeAll(async () => {
    ws = await raceWorkspace(['s1'], { one: ['s1'] });
    served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir)]);
  });
  afterAll(async () => {
    await served?.stop();
    await ws?.cleanup();
  });

  it('streams to disk: the service peaks under 150 MB', { timeout: 180_000 }, async () => {
    const hash = createHash('sha256');
    let size = 0;
    for (const chunk of bigTar()) {
      hash.update(chunk);
      size += chunk.length;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    const before = await peakMemory(served.child.pid ?? 0);
    const answer = await send(served.url, {
      path: `/v1/uploads?digest=${digest}`,
      headers: { ...clientHeaders(served.port, 'application/x-tar'), 'content-length': String(size) },
      body: Readable.from(bigTar(), { objectMode: false }),
    });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.upload).toBe(digest.slice(7));
    const peak = await peakMemory(served.child.pid ?? 0);
    console.log(
      `bake serve peak memory: ${(before / 1e6).toFixed(0)} MB before, ${(peak / 1e6).toFixed(0)} MB after a ${size} byte upload`,
    );
    expect(peak).toBeLessThan(150e6);
    // The disk is the test's to give back.
    await rm(join(ws.dir, '.bake', 'uploads'), { recursive: true, force: true });
  });
});
