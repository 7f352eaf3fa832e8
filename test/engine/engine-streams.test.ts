import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBusyboxRootfs } from '../../scripts/make-busybox-rootfs.js';
import { createEngine, type Engine } from '../../src/engine/docker-engine.js';
import { tempDir } from '../helpers/repo.js';
import { requireTools } from '../helpers/require-tools.js';

const run = promisify(execFile);
const tools = requireTools('busybox', 'docker');
// Everything this file creates carries this label and value, and only that is removed.
const label = 'dev.bake.test';
const mark = `engine-streams-${process.pid}`;
// Docker's 8-byte frame headers start with a stream byte 0-2 and carry a size: none may leak.
const framed = (text: string) => [...text].some((c) => c.charCodeAt(0) <= 2);

describe.skipIf(tools.skip)('engine output streams (logs, exec)', () => {
  let engine: Engine;
  const image = `bake-test/streams:${process.pid}`;
  beforeAll(async () => {
    engine = await createEngine();
    const rootfs = await tempDir('streams-rootfs');
    try {
      await makeBusyboxRootfs(rootfs.dir);
      await run('/bin/sh', ['-c', `tar -C "$0" -c . | /usr/bin/docker import --change "LABEL ${label}=${mark}" - "$1"`, rootfs.dir, image]);
    } finally {
      await rootfs.cleanup();
    }
  });
  afterAll(async () => {
    if (!engine) return;
    for (const c of await engine.listContainers({ [label]: mark })) await engine.removeContainer(c.id);
    await engine.removeImage(image);
  });

  async function container(script: string): Promise<string> {
    const name = `bake-test-streams-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const id = await engine.createContainer({ name, image, labels: { [label]: mark }, entrypoint: ['/bin/sh', '-c'], cmd: [script] });
    await engine.startContainer(id);
    return id;
  }

  it('logs: stdout and stderr without frame headers', async () => {
    const id = await container('echo to-out; echo to-err >&2');
    expect(await engine.waitContainer(id)).toBe(0);
    const logs = await engine.logs(id);
    expect(framed(logs)).toBe(false);
    // The engine copies the two pipes separately, so their relative order is not fixed.
    expect(logs.split('\n').sort()).toEqual(['', 'to-err', 'to-out']);
  });

  it('logs: the last 200 lines, in order', async () => {
    const id = await container('i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done');
    expect(await engine.waitContainer(id)).toBe(0);
    const expected = Array.from({ length: 200 }, (_, i) => `line-${300 + i}`);
    expect(await engine.logs(id)).toBe(`${expected.join('\n')}\n`);
  });

  it('logs of a container that printed nothing are empty', async () => {
    const id = await container('true');
    expect(await engine.waitContainer(id)).toBe(0);
    expect(await engine.logs(id)).toBe('');
  });

  it('exec: the exit code and both streams of the command', async () => {
    const id = await container('sleep 60');
    const result = await engine.exec(id, ['/bin/sh', '-c', 'echo to-out; echo to-err >&2; exit 4']);
    expect(result.exitCode).toBe(4);
    expect(framed(result.output)).toBe(false);
    expect(result.output.trimEnd().split('\n').sort()).toEqual(['to-err', 'to-out']);
    await engine.removeContainer(id);
  });

  it('logs: a line longer than one frame comes back whole', async () => {
    // The engine logs a line over 16 KiB as several messages, each its own frame.
    const long = 'x'.repeat(40_000);
    const id = await container(`printf '%s\\n' "${long}"; echo after; exit 3`);
    expect(await engine.waitContainer(id)).toBe(3);
    expect(await engine.logs(id)).toBe(`${long}\nafter\n`);
  });
});
