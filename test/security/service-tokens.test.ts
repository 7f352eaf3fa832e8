import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantOf, loadTokens } from '../../src/service/tokens.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { command, serve, tokenFile, type Served } from './service-harness.js';

// Tokens are kept as sha256 digests (in memory always, on disk with the `sha256:<hex>` form) and
// compared in constant time; a token file others can read is refused with the fix.

const SECRET = 'ci-job-secret-0123456789abcdef';
const hexOf = (token: string) => createHash('sha256').update(token).digest('hex');

let ws: { dir: string; cleanup(): Promise<void> };
beforeAll(async () => {
  ws = await raceWorkspace(['s1'], { one: ['s1'] });
});
afterAll(() => ws?.cleanup());

describe('the token file', () => {
  it.each([0o644, 0o640, 0o604, 0o660])('refuses mode %s with the fix', async (mode) => {
    const file = await tokenFile(ws.dir, `write ${SECRET}\n`, 0o600);
    await chmod(file, mode);
    const run = await bake(['-C', ws.dir, '--json', 'serve', '--tokens', file, '--port', '0']);
    expect(run.exitCode).toBe(2);
    expect(run.json.error.problems[0]).toMatchObject({ file, fix: `chmod 600 ${file}` });
    expect(run.stderr).toContain(`chmod 600 ${file}`);
  });

  it('refuses malformed and repeated lines, naming each', async () => {
    const file = await tokenFile(ws.dir, `write sha256:xyz\nread short\nwrite ${SECRET}\nread ${SECRET}\nadmin ${'a'.repeat(20)}\n`);
    const run = await bake(['-C', ws.dir, '--json', 'serve', '--tokens', file, '--port', '0']);
    expect(run.exitCode).toBe(2);
    expect(run.json.error.problems.map((p: { line: number }) => p.line)).toEqual([1, 2, 4, 5]);
  });

  it('keeps only digests in memory', async () => {
    const file = await tokenFile(ws.dir, `write ${SECRET} ci\nread sha256:${hexOf('reader-token-0123456789')}\n`);
    const tokens = await loadTokens(file);
    expect(JSON.stringify(tokens)).not.toContain(SECRET);
    expect(tokens.map((t) => t.digest.toString('hex'))).toEqual([hexOf(SECRET), hexOf('reader-token-0123456789')]);
    expect(grantOf(tokens, `Bearer ${SECRET}`)).toEqual({ role: 'write', name: 'ci' });
    expect(grantOf(tokens, 'Bearer reader-token-0123456789')).toEqual({ role: 'read' });
    for (const wrong of [SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), `sha256:${hexOf(SECRET)}`, hexOf(SECRET), '']) {
      expect(grantOf(tokens, `Bearer ${wrong}`), wrong).toBeUndefined();
    }
    expect(grantOf(tokens, SECRET)).toBeUndefined();
  });
});

describe('a service whose token file holds no secret', () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir, `# only digests here\nwrite sha256:${hexOf(SECRET)} ci-bot\n`)]);
  });
  afterAll(() => served?.stop());

  it("accepts the token whose digest it holds, and records writes under the token's name", async () => {
    const from = join(ws.dir, '.work', 'tree');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'hashed\n');
    const env = { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: SECRET, BAKE_ACTOR: 'alice@runner' };
    const run = await bake(['--json', 'commit', 's1', '--from', from], { cwd: ws.dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    const manifest = await manifestOf(ws.dir);
    expect(manifest.services['s1']?.versions.at(-1)?.recordedBy).toBe('ci-bot (alice@runner)');
  });

  it('refuses the digest itself as a token, and near misses', async () => {
    for (const token of [`sha256:${hexOf(SECRET)}`, hexOf(SECRET), SECRET.slice(1), `${SECRET}0`]) {
      const answer = await command(served, { command: 'status', options: {} }, token);
      expect(answer.status, token).toBe(401);
    }
    expect((await command(served, { command: 'status', options: {} }, SECRET)).status).toBe(200);
    expect(await readFile(join(ws.dir, 'bake.yaml'), 'utf8')).not.toContain(SECRET);
  });
});
