import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/manifest/manifest-file.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { bake } from '../helpers/bake-cli.js';
import { freePort } from '../helpers/registry.js';

const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');
const WRITE = 'w'.repeat(32);
const READ = 'r'.repeat(32);

/** `bake serve` as its own process on 127.0.0.1. */
async function serve(ws: string, port: number): Promise<ChildProcess> {
  await writeFile(join(ws, '.tokens'), `write ${WRITE}\nread ${READ}\n`);
  const child = spawn(process.execPath, [BAKE, '-C', ws, 'serve', '--tokens', join(ws, '.tokens'), '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`bake serve exited ${code}`)));
  });
  return child;
}

let wsDir = '.';

/** A CI job's view: its own checkout of the workspace, talking to the service. */
function client(url: string, token: string) {
  return (args: string[]) => bake(args, { cwd: wsDir, env: { BAKE_SERVICE: url, BAKE_SERVICE_TOKEN: token } });
}

describe('the bake service', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let server: ChildProcess;
  let url: string;
  let port: number;
  beforeAll(async () => {
    ws = await raceWorkspace(['s1', 's2', 'slow'], { shop: ['s1', 's2'] });
    wsDir = ws.dir;
    await writeFile(join(ws.dir, 'bake.yaml'), `${await readFile(join(ws.dir, 'bake.yaml'), 'utf8')}`.replace('  slow:\n    source: services/slow\n', '  slow:\n    source: services/slow\n    build: sleep 4\n'));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = await serve(ws.dir, port);
  });
  afterAll(async () => {
    server?.kill('SIGKILL');
    await ws?.cleanup();
  });

  it('runs commands with the same output and exit codes as a local run', async () => {
    const write = client(url, WRITE);
    const from = join(ws.dir, '.work', 'first');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'first\n');
    const commit = await write(['--json', 'commit', 's1', '--from', from]);
    expect(commit.exitCode, commit.stderr).toBe(0);
    expect(commit.json.commits[0]).toMatchObject({ service: 's1', version: 1, created: true });
    expect((await write(['--json', 'commit', 's2', '--from', from])).exitCode).toBe(0);
    const build = await write(['--json', 'build', 'shop']);
    expect(build.json.builds[0].vector).toEqual({ s1: 1, s2: 1 });
    const local = await bake(['-C', ws.dir, '--json', 'status']);
    const remote = await client(url, READ)(['--json', 'status']);
    expect(remote.json).toEqual(local.json);
    const missing = await write(['--json', 'build', 'nope']);
    expect(missing.exitCode).toBe(2);
    expect(missing.json.error.kind).toBe('invalid-input');
  });

  it('refuses bad requests with a clear 4xx and changes nothing', async () => {
    const before = (await readManifest(join(ws.dir, '.bake', 'manifest.json'))).generation;
    expect((await client(url, 'x'.repeat(32))(['status'])).exitCode).toBe(1);
    const readOnly = await client(url, READ)(['build', 'shop']);
    expect(readOnly.exitCode).toBe(1);
    expect(readOnly.stderr).toMatch(/needs a write token/);
    const post = (path: string, body: string, token = WRITE) => fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body });
    expect((await post('/v1/commands', 'not json')).status).toBe(400);
    expect((await post('/v1/commands', JSON.stringify({ argv: ['router', '--env', 'x'] }))).status).toBe(400);
    expect((await post('/v1/commands', JSON.stringify({ argv: ['-C', '/etc', 'status'] }))).status).toBe(400);
    expect((await post('/v1/commands', JSON.stringify({ argv: ['commit', 's1', '--from', '/etc'] }))).status).toBe(400);
    expect((await post('/v1/commands', 'x'.repeat(100_000))).status).toBe(413);
    const mismatch = await post(`/v1/uploads?digest=sha256:${'0'.repeat(64)}`, 'definitely not that');
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { message: string } }).error.message).toMatch(/does not match its digest/);
    expect((await readManifest(join(ws.dir, '.bake', 'manifest.json'))).generation).toBe(before);
  });

  it('serializes two teams racing through it: both latest versions run, or the race is refused by name', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const write = client(url, WRITE);
      const team = async (service: string, delay: number) => {
        const from = join(ws.dir, '.work', `${service}-${seed}`);
        await mkdir(from, { recursive: true });
        await writeFile(join(from, 'VERSION'), `${service} ${seed}\n`);
        await new Promise((r) => setTimeout(r, delay));
        const steps = [await write(['--json', 'commit', service, '--from', from])];
        await new Promise((r) => setTimeout(r, delay));
        steps.push(await write(['--json', 'build', 'shop']));
        steps.push(await write(['--json', 'release', 'shop', '--env', 'prod']));
        return steps;
      };
      const steps = (await Promise.all([team('s1', (seed * 37) % 90), team('s2', (seed * 53) % 90)])).flat();
      for (const s of steps) expect([0, 3]).toContain(s.exitCode);
      const manifest = await readManifest(join(ws.dir, '.bake', 'manifest.json'));
      const prod = manifest.environments['prod'];
      const live = prod?.releases.find((r) => r.id === prod.live['shop']);
      const refused = steps.filter((s) => s.exitCode === 3).map((s) => s.json.error.service);
      for (const service of ['s1', 's2']) {
        const latest = manifest.services[service]?.versions.at(-1)?.version;
        if (live?.vector[service] !== latest) expect(refused, `seed ${seed}: prod lacks ${service} v${latest} silently`).toContain(service);
      }
    }
  });

  it('reports a request interrupted by a crash as failed, and keeps the manifest valid', async () => {
    const write = client(url, WRITE);
    const slow = write(['--json', 'commit', 'slow']);
    await new Promise((r) => setTimeout(r, 1500));
    // The queue shows what runs (and what waits on which lock).
    const queue = (await (await fetch(`${url}/v1/queue`, { headers: { authorization: `Bearer ${READ}` } })).json()) as { running: { argv: string[]; state: string }[] };
    expect(queue.running.map((r) => r.argv.join(' '))).toEqual([expect.stringContaining('commit slow')]);
    server.kill('SIGKILL');
    const cut = await slow;
    expect(cut.exitCode).toBe(1);
    server = await serve(ws.dir, port);
    const status = await client(url, READ)(['--json', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json.interrupted).toHaveLength(1);
    expect(status.json.interrupted[0]).toMatchObject({ argv: expect.arrayContaining(['commit', 'slow']), status: 'failed' });
    expect(status.json.services['slow']).toBeUndefined();
    const log = await client(url, READ)(['--json', 'log']);
    expect(log.json.events.at(-1).summary).toMatch(/FAILED \(interrupted/);
  });
});

describe('commits through the service and local commits agree', () => {
  it('records the same committed tree as the same version either way', async () => {
    const { shopRepo } = await import('../helpers/repo.js');
    const repo = await shopRepo({ base: false });
    const port = await freePort();
    const server = await serve(repo.dir, port);
    try {
      const local = await bake(['-C', repo.dir, '--json', 'commit', '--all']);
      expect(local.exitCode, local.stderr).toBe(0);
      const remote = await bake(['--json', 'commit', '--all'], { cwd: repo.dir, env: { BAKE_SERVICE: `http://127.0.0.1:${port}`, BAKE_SERVICE_TOKEN: WRITE } });
      expect(remote.exitCode, remote.stderr).toBe(0);
      expect(remote.json.commits.map((c: { created: boolean }) => c.created)).toEqual([false, false, false]);
      expect(remote.json.commits.map((c: { digest: string }) => c.digest)).toEqual(local.json.commits.map((c: { digest: string }) => c.digest));
    } finally {
      server.kill('SIGKILL');
      await repo.cleanup();
    }
  });
});
