import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raceWorkspace } from '../race/race-workspace.js';
import { bake } from '../helpers/bake-cli.js';
import { requireTools } from '../helpers/require-tools.js';
import { type ReplicaProcess, startReplicaProcess, TOKEN } from './replica-harness.js';

// `bake serve --listen ADDR:PORT`: any address; plain http on one other machines can reach only
// when asked for (--insecure-http); the Host guard answers to the listen address and --allow-host
// names, nothing else; and TLS with a self-signed certificate that a client must be told to trust.
const tools = requireTools('openssl');

/** This machine's first non-loopback IPv4 address, if it has one (the test then also reaches the listener through it). */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** GET `path` at 127.0.0.1:`port` with the Host (and Origin) given, over plain http: the status. */
function statusWithHost(port: number, host: string, headers: Record<string, string> = {}, address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: '/v1/health', headers: { host, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A self-signed certificate (its own CA) for 127.0.0.1 and this machine's outside address. */
function certificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const names = ['IP:127.0.0.1', ...(outside ? [`IP:${outside}`] : [])].join(',');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=bake'].concat([
      '-addext',
      `subjectAltName=${names}`,
    ]),
    { stdio: 'ignore' },
  );
  return { cert, key };
}

describe.skipIf(tools.skip)('bake serve --listen', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  const started: ReplicaProcess[] = [];
  beforeAll(async () => {
    ws = await raceWorkspace(['s1'], { one: ['s1'] });
    await writeFile(join(ws.dir, '.tokens'), `write ${TOKEN}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    for (const s of started) await s.kill();
    await ws?.cleanup();
  });

  it('refuses plain http on an address other machines reach, naming the fix, and bad addresses', async () => {
    const serve = (...args: string[]) => bake(['-C', ws.dir, 'serve', '--tokens', join(ws.dir, '.tokens'), ...args]);
    for (const address of ['0.0.0.0:0', '[::]:0', ':0']) {
      const refused = await serve('--listen', address);
      expect(refused.exitCode, address).toBe(2);
      expect(refused.stderr).toMatch(/reachable from other machines/);
      expect(refused.stderr).toMatch(/--tls-cert FILE --tls-key FILE, or --insecure-http/);
    }
    const bad = await serve('--listen', 'not an address');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--listen takes ADDRESS:PORT/);
    expect((await serve('--listen', '127.0.0.1:0', '--port', '0')).stderr).toMatch(/--listen ADDR:PORT or --port PORT, not both/);
    const open = await bake(['-C', ws.dir, 'serve', '--no-auth', '--listen', '0.0.0.0:0', '--insecure-http']);
    expect(open.exitCode).toBe(2);
    expect(open.stderr).toMatch(/--no-auth is for loopback addresses only/);
  });

  it('answers on every address with --insecure-http, to its own addresses and --allow-host names only', async () => {
    const service = await startReplicaProcess(
      ws.dir,
      {},
      { args: ['--listen', '0.0.0.0:0', '--insecure-http', '--allow-host', 'bake.internal'] },
    );
    started.push(service);
    // --port is replaced by --listen's port 0: read the port the service printed.
    const port = Number(new URL(service.url).port);
    expect(service.url).toBe(`http://127.0.0.1:${port}`);
    expect(await statusWithHost(port, `127.0.0.1:${port}`)).toBe(200);
    expect(await statusWithHost(port, `localhost:${port}`)).toBe(200);
    expect(await statusWithHost(port, `bake.internal:${port}`)).toBe(200);
    expect(await statusWithHost(port, `bake.internal`)).toBe(200);
    // DNS rebinding: a name that resolves here but is not this service's is refused, as a foreign Origin is.
    expect(await statusWithHost(port, `rebind.example:${port}`)).toBe(403);
    expect(await statusWithHost(port, `127.0.0.1:${port}`, { origin: 'http://rebind.example' })).toBe(403);
    if (outside) {
      expect(await statusWithHost(port, `${outside}:${port}`, {}, outside)).toBe(200);
      expect(await statusWithHost(port, `rebind.example:${port}`, {}, outside)).toBe(403);
    }
  });

  it('serves https with a self-signed certificate: a client that does not trust it is refused, one given the CA is served', async () => {
    const dir = join(ws.dir, '.tls');
    await mkdir(dir, { recursive: true });
    const { cert, key } = certificate(dir);
    const service = await startReplicaProcess(ws.dir, {}, { args: ['--listen', '0.0.0.0:0', '--tls-cert', cert, '--tls-key', key] });
    started.push(service);
    const port = Number(new URL(service.url).port);
    expect(service.url).toBe(`https://127.0.0.1:${port}`);
    const client =
      (base: string, extra: Record<string, string> = {}) =>
      (args: string[]) =>
        bake(['--json', ...args], { cwd: ws.dir, env: { BAKE_SERVICE: base, BAKE_SERVICE_TOKEN: TOKEN, ...extra } });

    const untrusting = await client(service.url)(['status']);
    expect(untrusting.exitCode).toBe(1);
    expect(untrusting.json.error.message).toMatch(/does not trust/);
    expect(untrusting.json.error.message).toMatch(/BAKE_SERVICE_CA/);

    const trusting = client(service.url, { BAKE_SERVICE_CA: cert });
    const from = join(ws.dir, '.work', 'tls');
    await mkdir(from, { recursive: true });
    await writeFile(join(from, 'VERSION'), 'over tls\n');
    const commit = await trusting(['commit', 's1', '--from', from]);
    expect(commit.exitCode, commit.stderr).toBe(0);
    expect(commit.json.commits[0]).toMatchObject({ service: 's1', created: true });
    expect((await trusting(['status'])).exitCode).toBe(0);
    if (outside) {
      // A runner on another machine: the listener's own address, the same CA.
      const remote = await client(`https://${outside}:${port}`, { BAKE_SERVICE_CA: cert })(['status']);
      expect(remote.exitCode, remote.stderr).toBe(0);
    }
  });
});
