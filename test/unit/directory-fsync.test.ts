import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireTools } from '../helpers/require-tools.js';

// fsyncDirectory shares one fsync among callers that ask while another runs: counted here from the
// kernel's side (strace), in a process that renames files into a directory and asks, as the store does.
const tools = requireTools('strace');
const module = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'util', 'atomic-write.js')).href;

let scratch: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'bake-fsync-'));
});
afterEach(() => rm(scratch, { recursive: true, force: true }));

/** Runs `body` (with `dir`, `fsyncDirectory` and `fs` in scope) under strace; resolves with how many fsyncs reached `dir`. */
async function fsyncsOf(body: string): Promise<number> {
  const dir = join(scratch, 'blobs');
  const script = `const fs = require('node:fs'); const dir = ${JSON.stringify(dir)}; fs.mkdirSync(dir);
    import(${JSON.stringify(module)}).then(async ({ fsyncDirectory }) => { ${body} });`;
  const trace = join(scratch, 'trace');
  execFileSync('strace', ['-f', '-y', '-e', 'trace=fsync', '-o', trace, process.execPath, '-e', script], { stdio: 'pipe' });
  return (await readFile(trace, 'utf8')).split('\n').filter((line) => line.includes(`fsync(`) && line.includes(`<${dir}>`)).length;
}

describe.skipIf(tools.skip)('fsyncDirectory', () => {
  it('makes one fsync per call when each waits for the last', async () => {
    const count = await fsyncsOf(`for (let i = 0; i < 3; i++) { fs.writeFileSync(dir + '/f' + i, 'x'); await fsyncDirectory(dir); }`);
    expect(count).toBe(3);
  });

  it('shares fsyncs among concurrent callers: the one running and one more for all who asked meanwhile', async () => {
    const count = await fsyncsOf(
      `await Promise.all(Array.from({ length: 16 }, (_, i) => { fs.writeFileSync(dir + '/f' + i, 'x'); return fsyncDirectory(dir); }));
       fs.writeFileSync(dir + '/after', 'x'); await fsyncDirectory(dir);`,
    );
    // 16 at once: the first, then one queued behind it; the last caller after all of them: one more.
    expect(count).toBe(3);
  });
});
