import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raceWorkspace } from '../race/race-workspace.js';
import { hostileTar } from '../security/hostile-tar.js';
import { bake } from '../helpers/bake-cli.js';
import { manifestOf } from '../helpers/manifest.js';
import { freePort } from '../helpers/registry.js';

const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');
const WRITE = 'w'.repeat(32);
const READ = 'r'.repeat(32);
/** A write token the operator named: writes through it are recorded as `ci-bot (caller)`. */
const NAMED = 'n'.repeat(32);

/** `bake serve` as its own process on 127.0.0.1. */
async function serve(ws: string, port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  await writeFile(join(ws, '.tokens'), `write ${WRITE}\nread ${READ}\nwrite ${NAMED} ci-bot\n`, { mode: 0o600 });
  const args = [BAKE, '-C', ws, 'serve', '--tokens', join(ws, '.tokens'), '--port', String(port)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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

/** Resolves for every party once `parties` have called it. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (open = resolve));
  return async () => {
    if (++arrived === parties) open();
    await all;
  };
}

describe('the bake service', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let server: ChildProcess;
  let url: string;
  let port: number;
  beforeAll(async () => {
    ws = await raceWorkspace(['s1', 's2', 'slow'], { shop: ['s1', 's2'] });
    wsDir = ws.dir;
    await writeFile(
      join(ws.dir, 'bake.yaml'),
      `${await readFile(join(ws.dir, 'bake.yaml'), 'utf8')}`.replace(
        '  slow:\n    source: services/slow\n',
        '  slow:\n    source: services/slow\n    build: sleep 4\n',
      ),
    );
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
    // A remote error is the local error: the same document, the same exit code.
    const localMissing = await bake(['-C', ws.dir, '--json', 'build', 'nope']);
    expect(missing.json).toEqual(localMissing.json);
    const unknownRelease = await write(['--json', 'release', 'nope', '--env', 'prod']);
    expect(unknownRelease.json).toEqual((await bake(['-C', ws.dir, '--json', 'release', 'nope', '--env', 'prod'])).json);
    expect(unknownRelease.exitCode).toBe(2);
  });

  it('refuses bad requests with a clear 4xx and changes nothing', async () => {
    const before = (await manifestOf(ws.dir)).generation;
    expect((await client(url, 'x'.repeat(32))(['status'])).exitCode).toBe(1);
    const readOnly = await client(url, READ)(['build', 'shop']);
    expect(readOnly.exitCode).toBe(1);
    expect(readOnly.stderr).toMatch(/needs a write token/);
    // A bake client's request: JSON to /v1/commands, a tar to /v1/uploads (any other type is a 415).
    const post = (path: string, body: string | Uint8Array, token = WRITE) => {
      const type = path.startsWith('/v1/uploads') ? 'application/x-tar' : 'application/json';
      return fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    };
    const command = (value: unknown) => post('/v1/commands', JSON.stringify(value));
    const refusal = async (value: unknown) => {
      const response = await command(value);
      const { error } = (await response.json()) as { error: { kind: string; message: string; exitCode: number } };
      return { status: response.status, error };
    };
    expect((await post('/v1/commands', 'not json')).status).toBe(400);
    // The old argv form, a command the service does not run, an option it does not take.
    expect((await command({ argv: ['status'] })).status).toBe(400);
    const router = await refusal({ command: 'router', options: { env: 'x' } });
    expect(router).toMatchObject({ status: 400, error: { kind: 'bad-request', exitCode: 2 } });
    expect((await command({ command: 'status', options: { workspace: '/etc' } })).status).toBe(400);
    expect((await command({ command: 'status', options: { env: 7 } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['shop'], maxRebakes: 1e9 } })).status).toBe(400);
    // No remote option names a host path: not a directory to commit, not a recipe file, not the working trees.
    expect((await command({ command: 'commit', options: { from: '/etc', services: [] } })).status).toBe(400);
    const directory = await refusal({ command: 'commit', options: { services: [{ service: 's1', dir: '/etc' }] } });
    expect(directory.error.message).toMatch(/reads no caller's file system/);
    expect((await command({ command: 'commit', options: { services: [{ service: 's1', upload: '../../../etc' }] } })).status).toBe(400);
    expect((await command({ command: 'commit', options: { services: [{ service: 's1', upload: 'a'.repeat(64) }] } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['../../etc/recipe.yaml'] } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['shop.yaml'] } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['shop'], dev: true } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['shop'], commit: true } })).status).toBe(400);
    expect((await command({ command: 'build', options: { images: ['shop'] }, workspace: '/etc' })).status).toBe(400);
    expect((await post('/v1/commands', 'x'.repeat(100_000))).status).toBe(413);
    // A valid archive under another digest, and bytes that are no archive at all: both 400.
    const tar = new Uint8Array(hostileTar([{ name: 'VERSION', body: 'definitely not that\n' }]));
    const mismatch = await post(`/v1/uploads?digest=sha256:${'0'.repeat(64)}`, tar);
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { message: string } }).error.message).toMatch(/does not match its digest/);
    const junk = await post(`/v1/uploads?digest=sha256:${'0'.repeat(64)}`, 'definitely not that');
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: { message: string } }).error.message).toMatch(/not a valid tar archive/);
    expect((await manifestOf(ws.dir)).generation).toBe(before);
  });

  it("records the caller as the actor of its writes, under the token's name when the token file gives one", async () => {
    const from = join(ws.dir, '.work', 'actors');
    await mkdir(from, { recursive: true });
    const commitAs = async (token: string, actor: string, content: string) => {
      await writeFile(join(from, 'VERSION'), content);
      const env = { BAKE_SERVICE: url, BAKE_SERVICE_TOKEN: token, BAKE_ACTOR: actor };
      const run = await bake(['--json', 'commit', 's1', '--from', from], { cwd: ws.dir, env });
      expect(run.exitCode, run.stderr).toBe(0);
      return (await manifestOf(ws.dir)).services['s1']?.versions.at(-1)?.recordedBy;
    };
    expect(await commitAs(NAMED, 'alice@runner-7', 'by alice\n')).toBe('ci-bot (alice@runner-7)');
    expect(await commitAs(WRITE, 'bob@runner-8', 'by bob\n')).toBe('bob@runner-8');
  });

  it('serializes two teams racing through it: both latest versions run, or the race is refused by name', async () => {
    const clean: number[] = [];
    for (let seed = 0; seed <= 4; seed++) {
      const write = client(url, WRITE);
      // Schedule 0 does not race: both teams commit, then both bake and release. Its only right
      // outcome is both changes live with no refusal, which a gate that refuses everything fails.
      const bothCommitted = seed === 0 ? barrier(2) : async () => undefined;
      const team = async (service: string, delay: number) => {
        const from = join(ws.dir, '.work', `${service}-${seed}`);
        await mkdir(from, { recursive: true });
        await writeFile(join(from, 'VERSION'), `${service} ${seed}\n`);
        await new Promise((r) => setTimeout(r, delay));
        const steps = [await write(['--json', 'commit', service, '--from', from])];
        await bothCommitted();
        await new Promise((r) => setTimeout(r, delay));
        steps.push(await write(['--json', 'build', 'shop']));
        steps.push(await write(['--json', 'release', 'shop', '--env', 'prod']));
        return steps;
      };
      const steps = (await Promise.all([team('s1', (seed * 37) % 90), team('s2', (seed * 53) % 90)])).flat();
      for (const s of steps) expect([0, 3]).toContain(s.exitCode);
      const manifest = await manifestOf(ws.dir);
      const prod = manifest.environments['prod'];
      const live = prod?.releases.find((r) => r.id === prod.live['shop']);
      const refused = steps.filter((s) => s.exitCode === 3).map((s) => s.json.error.service);
      const behind = ['s1', 's2'].filter((service) => live?.vector[service] !== manifest.services[service]?.versions.at(-1)?.version);
      for (const service of behind) expect(refused, `seed ${seed}: prod lacks the latest ${service} silently`).toContain(service);
      if (refused.length === 0 && behind.length === 0) clean.push(seed);
    }
    expect(clean, "the clean case: both teams' changes live with no refusal").toContain(0);
  });

  it('reports a request interrupted by a crash as failed, and keeps the manifest valid', async () => {
    const write = client(url, WRITE);
    const slow = write(['--json', 'commit', 'slow']);
    await new Promise((r) => setTimeout(r, 1500));
    // The queue shows what runs (and what waits on which lock).
    const answer = await fetch(`${url}/v1/queue`, { headers: { authorization: `Bearer ${READ}` } });
    const queue = (await answer.json()) as { running: { command: string; argv: string[]; state: string }[] };
    expect(queue.running.map((r) => r.argv.join(' '))).toEqual([expect.stringContaining('commit slow')]);
    expect(queue.running[0]?.command).toBe('commit');
    server.kill('SIGKILL');
    const cut = await slow;
    expect(cut.exitCode).toBe(1);
    server = await serve(ws.dir, port);
    const status = await client(url, READ)(['--json', 'status']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.json.interrupted).toHaveLength(1);
    expect(status.json.interrupted[0]).toMatchObject({ argv: expect.arrayContaining(['commit', 'slow']), status: 'failed' });
    const upload = expect.stringMatching(/^[a-f0-9]{64}$/);
    expect(status.json.interrupted[0].request).toMatchObject({ command: 'commit', options: { services: [{ service: 'slow', upload }] } });
    expect(status.json.services['slow']).toBeUndefined();
    const log = await client(url, READ)(['--json', 'log']);
    expect(log.json.events.at(-1).summary).toMatch(/FAILED \(interrupted/);
  });
});

describe('progress and errors through the service', () => {
  // The JSON file store's lock names its holder; a database's write lock does not (it belongs to a connection).
  it.each([
    { kind: 'json', env: { BAKE_DATABASE_URL: 'json' }, holder: ['lock-holder.mjs', '60000'], names: true },
    { kind: 'sqlite', env: {}, holder: ['store-holder.mjs', 'hold'], names: false },
  ])('relays progress as a local run renders it, and a failure as the local error document and exit code ($kind store)', async (store) => {
    const ws = await raceWorkspace(['s1'], { one: ['s1'] });
    const port = await freePort();
    const server = await serve(ws.dir, port, { BAKE_LOCK_TIMEOUT_MS: '1500', ...store.env });
    const [script = '', arg = ''] = store.holder;
    const holder = spawn(process.execPath, [join(__dirname, '..', 'race', script), ws.dir, arg], {
      env: { ...process.env, ...store.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', (d) => String(d).includes('locked') && resolve());
        holder.once('exit', () => reject(new Error('lock holder exited early')));
      });
      const env = { BAKE_SERVICE: `http://127.0.0.1:${port}`, BAKE_SERVICE_TOKEN: WRITE };
      const remote = await bake(['--json', 'release', 'one', '--env', 'dev'], { cwd: ws.dir, env });
      const local = await bake(['-C', ws.dir, '--json', 'release', 'one', '--env', 'dev'], {
        env: { BAKE_LOCK_TIMEOUT_MS: '1500', ...store.env },
      });
      // The wait is a progress event at the service, rendered on the client's stderr like a local one.
      const waiting = `bake: waiting for the manifest lock${store.names ? ` held by PID ${holder.pid}` : ''}`;
      expect(remote.stderr).toContain(waiting);
      expect(local.stderr).toContain(waiting);
      expect(remote.json.error.kind).toBe('lock');
      // The same document, except that the service names its own files relative to its workspace.
      const localJson = JSON.parse(JSON.stringify(local.json).replaceAll(`${ws.dir}/`, ''));
      expect(remote.json).toEqual(localJson);
      expect(JSON.stringify(remote.json)).not.toContain(ws.dir);
      expect(remote.exitCode).toBe(local.exitCode);
      expect(remote.exitCode).toBe(1);
    } finally {
      holder.kill('SIGKILL');
      server.kill('SIGKILL');
      await ws.cleanup();
    }
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
      const remote = await bake(['--json', 'commit', '--all'], {
        cwd: repo.dir,
        env: { BAKE_SERVICE: `http://127.0.0.1:${port}`, BAKE_SERVICE_TOKEN: WRITE },
      });
      expect(remote.exitCode, remote.stderr).toBe(0);
      expect(remote.json.commits.map((c: { created: boolean }) => c.created)).toEqual([false, false, false]);
      expect(remote.json.commits.map((c: { digest: string }) => c.digest)).toEqual(
        local.json.commits.map((c: { digest: string }) => c.digest),
      );
    } finally {
      server.kill('SIGKILL');
      await repo.cleanup();
    }
  });

  it("build --commit commits the caller's trees, never the service's own checkout", async () => {
    const { cloneRepo, shopRepo } = await import('../helpers/repo.js');
    const origin = await shopRepo({ base: false });
    const host = await cloneRepo(origin.dir); // the service's workspace, left at the first commit
    const runner = await cloneRepo(origin.dir); // a CI runner's checkout, one commit ahead
    const port = await freePort();
    const server = await serve(host.dir, port);
    try {
      await appendFile(join(runner.dir, 'services', 'cart', 'VERSION'), 'cart 2\n');
      const head = await runner.commitAll('cart 2', '2026-01-09T00:00:00Z');
      const env = { BAKE_SERVICE: `http://127.0.0.1:${port}`, BAKE_SERVICE_TOKEN: WRITE };
      const run = await bake(['--json', 'build', '--commit', 'shop'], { cwd: runner.dir, env });
      expect(run.exitCode, run.stderr).toBe(0);
      const cart = run.json.commits.find((c: { service: string }) => c.service === 'cart');
      expect(cart).toMatchObject({ version: 1, created: true, revision: head });
      expect(run.json.builds[0]).toMatchObject({ image: 'shop', vector: { catalog: 1, cart: 1, web: 1 } });
      // The same tree committed in the runner's own checkout is the same version.
      const local = await bake(['-C', runner.dir, '--json', 'commit', 'cart']);
      expect(local.json.commits[0].digest).toBe(cart.digest);
      expect(await host.git('rev-parse', 'HEAD')).not.toBe(head);
    } finally {
      server.kill('SIGKILL');
      await Promise.all([origin.cleanup(), host.cleanup(), runner.cleanup()]);
    }
  });
});
