import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workspacePaths } from '../../src/config/workspace-paths.js';
import { collectUploads } from '../../src/gc/collect-uploads.js';
import { openMarkerLog } from '../../src/service/marker-log.js';
import { tempDir } from '../helpers/repo.js';

// The in-flight markers of a service with a request ledger (src/service/marker-log.ts): one file
// a process appends to. What matters is what `bake gc` makes of it: the uploads of a running
// request are kept, whatever the grace period; once nothing runs, nothing is.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const hex = (n: number) => n.toString(16).padStart(64, '0');
const job = (id: string, upload: string) =>
  JSON.stringify({ id, command: 'commit', options: { services: [{ service: 's1', upload }] }, argv: ['commit', 's1'] });

async function workspace(uploads: number): Promise<string> {
  const { dir, cleanup } = await tempDir('markers');
  cleanups.push(cleanup);
  for (let n = 1; n <= uploads; n++) await mkdir(join(workspacePaths(dir).uploads, hex(n)), { recursive: true });
  return dir;
}

const texts = async (dir: string) =>
  Promise.all((await readdir(dir).catch(() => [] as string[])).map((name) => readFile(join(dir, name), 'utf8')));

describe('the marker log of a service with a request ledger', () => {
  it('keeps the uploads of running requests from gc, and none once they ended', async () => {
    const ws = await workspace(3);
    const markers = openMarkerLog(workspacePaths(ws).inflight);
    markers.add('a', job('a', hex(1)));
    markers.add('b', job('b', hex(2)));
    // One file for the process, a line a request.
    expect(await readdir(workspacePaths(ws).inflight)).toHaveLength(1);
    expect((await collectUploads(ws, { graceMs: 0, dryRun: true })).uploads).toEqual([`sha256:${hex(3)}`]);
    markers.remove('a');
    // An ended request may be kept a while longer, never a running one shorter.
    expect((await collectUploads(ws, { graceMs: 0, dryRun: true })).uploads).not.toContain(`sha256:${hex(2)}`);
    markers.remove('b');
    expect((await collectUploads(ws, { graceMs: 0, dryRun: true })).uploads.sort()).toEqual([1, 2, 3].map((n) => `sha256:${hex(n)}`));
    markers.close();
    expect(await readdir(workspacePaths(ws).inflight)).toEqual([]);
  });

  it('writes its markers again when the directory was removed under it', async () => {
    const ws = await workspace(2);
    const dir = workspacePaths(ws).inflight;
    const markers = openMarkerLog(dir);
    markers.add('a', job('a', hex(1)));
    await rm(dir, { recursive: true, force: true });
    markers.add('b', job('b', hex(2)));
    // The new file names both running requests.
    const [text] = await texts(dir);
    expect(text).toContain(hex(1));
    expect(text).toContain(hex(2));
    expect((await collectUploads(ws, { graceMs: 0, dryRun: true })).uploads).toEqual([]);
    markers.close();
  });

  it('renews a large file, carrying over only the requests still running', async () => {
    const ws = await workspace(2);
    const dir = workspacePaths(ws).inflight;
    const markers = openMarkerLog(dir);
    markers.add('running', job('running', hex(1)));
    const padding = 'x'.repeat(4096);
    for (let n = 0; n < 80; n++) {
      markers.add(`done-${n}`, job(`done-${n}`, `${hex(2)}${padding}`));
      markers.remove(`done-${n}`);
    }
    const files = await texts(dir);
    expect(files).toHaveLength(1);
    expect(files[0]?.length).toBeLessThan(256 * 1024 + 8192);
    expect(files[0]).toContain(hex(1));
    markers.close();
  });
});
