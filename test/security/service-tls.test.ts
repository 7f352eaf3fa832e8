import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bake } from '../helpers/bake-cli.js';
import { requireTools } from '../helpers/require-tools.js';
import { raceWorkspace } from '../race/race-workspace.js';
import { READ, serve, tokenFile, WRITE, type Served } from './service-harness.js';

// The client speaks https to an https:// service URL (the token never travels in clear text
// there), trusts a private CA only when BAKE_SERVICE_CA names it, and will not send a token over
// plain http to anything but this machine. `bake serve --tls-cert/--tls-key` serves https.

const tools = requireTools('openssl');

/** A private CA and a certificate for 127.0.0.1 and localhost signed by it, made by openssl. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execa('openssl', args, { cwd: dir });
  const ca = ['-keyout', at('ca.key'), '-out', at('ca.pem'), '-days', '2', '-subj', '/CN=bake test CA'];
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', ...ca);
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('service.key'), '-out', at('service.csr'), '-subj', '/CN=127.0.0.1');
  await execa('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\n" > ext.cnf'], { cwd: dir });
  await openssl(
    'x509',
    '-req',
    '-in',
    at('service.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-CAcreateserial',
    '-out',
    at('service.pem'),
    '-days',
    '2',
    '-extfile',
    at('ext.cnf'),
  );
  return { ca: at('ca.pem'), cert: at('service.pem'), key: at('service.key') };
}

describe.skipIf(tools.skip)('bake serve over https', () => {
  let ws: { dir: string; cleanup(): Promise<void> };
  let served: Served;
  let certs: { ca: string; cert: string; key: string };
  beforeAll(async () => {
    ws = await raceWorkspace(['s1'], { one: ['s1'] });
    certs = await makeCertificates(ws.dir);
    served = await serve(ws.dir, ['--tokens', await tokenFile(ws.dir), '--tls-cert', certs.cert, '--tls-key', certs.key]);
  });
  afterAll(async () => {
    await served?.stop();
    await ws?.cleanup();
  });

  it('prints an https URL', () => {
    expect(served.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('a client that does not trust the certificate is refused; one given the CA works', async () => {
    const untrusted = await bake(['--json', 'status'], { cwd: ws.dir, env: { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: READ } });
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toMatch(/does not trust.*BAKE_SERVICE_CA/);
    expect(untrusted.stderr).not.toMatch(/\n\s+at /);
    const trusted = await bake(['--json', 'status'], {
      cwd: ws.dir,
      env: { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: READ, BAKE_SERVICE_CA: certs.ca },
    });
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    expect(trusted.json.generation).toBe(0);
    // The same service by name: the certificate names localhost too.
    const byName = served.url.replace('127.0.0.1', 'localhost');
    const namedEnv = { BAKE_SERVICE: byName, BAKE_SERVICE_TOKEN: READ, BAKE_SERVICE_CA: certs.ca };
    const named = await bake(['--json', 'status'], { cwd: ws.dir, env: namedEnv });
    expect(named.exitCode, named.stderr).toBe(0);
  });

  it('bin/bake trusts the CA NODE_EXTRA_CA_CERTS names, though it starts Node without that variable', async () => {
    const launcher = fileURLToPath(new URL('../../bin/bake', import.meta.url));
    const env = { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: READ, NODE_EXTRA_CA_CERTS: certs.ca };
    const trusted = await execa(launcher, ['--json', 'status'], { cwd: ws.dir, env, reject: false });
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    expect(JSON.parse(trusted.stdout).generation).toBeGreaterThanOrEqual(0);
    // Without it, the same command is refused: the trust came from that file.
    const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
    const untrusted = await execa(launcher, ['--json', 'status'], {
      cwd: ws.dir,
      env: { ...bare, BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: READ },
      extendEnv: false,
      reject: false,
    });
    expect(untrusted.exitCode).toBe(1);
    expect(untrusted.stderr).toMatch(/does not trust/);
  });

  it('commits through https, uploads included', async () => {
    const from = join(ws.dir, 'services', 's1');
    const env = { BAKE_SERVICE: served.url, BAKE_SERVICE_TOKEN: WRITE, BAKE_SERVICE_CA: certs.ca };
    const run = await bake(['--json', 'commit', 's1', '--from', from], { cwd: ws.dir, env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.json.commits[0]).toMatchObject({ service: 's1', version: 1 });
  });

  it('refuses a missing CA file, and --tls-cert without --tls-key', async () => {
    const missing = await bake(['status'], { cwd: ws.dir, env: { BAKE_SERVICE: served.url, BAKE_SERVICE_CA: join(ws.dir, 'nope.pem') } });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/BAKE_SERVICE_CA/);
    const half = await bake(['-C', ws.dir, 'serve', '--no-auth', '--port', '0', '--tls-cert', certs.cert]);
    expect(half.exitCode).toBe(2);
    expect(half.stderr).toMatch(/--tls-key/);
  });
});

describe('the client never shows its token in clear text', () => {
  let listener: Server;
  let port: number;
  let received: Buffer[];
  beforeAll(async () => {
    received = [];
    // Something on an https:// URL's port that is not TLS: whatever the client sends arrives here.
    listener = createServer((socket) => {
      socket.on('data', (d: Buffer) => received.push(d));
      setTimeout(() => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'), 200);
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => listener.close(() => r())));

  it('speaks TLS to an https:// URL, so a plain listener never sees the token', async () => {
    const run = await bake(['status'], { env: { BAKE_SERVICE: `https://127.0.0.1:${port}`, BAKE_SERVICE_TOKEN: WRITE } });
    expect(run.exitCode).toBe(1);
    const bytes = Buffer.concat(received);
    expect(bytes.length, 'the client connected').toBeGreaterThan(0);
    expect(bytes[0], 'a TLS handshake record').toBe(0x16);
    expect(bytes.toString('latin1')).not.toContain(WRITE);
    expect(bytes.toString('latin1')).not.toMatch(/authorization/i);
  });

  it('refuses to send a token over plain http to another host', async () => {
    const run = await bake(['--json', 'status'], { env: { BAKE_SERVICE: 'http://bake.example.invalid:7878', BAKE_SERVICE_TOKEN: WRITE } });
    expect(run.exitCode).toBe(2);
    expect(run.json.error.message).toMatch(/clear text.*https:\/\//);
    expect(run.stdout + run.stderr).not.toContain(WRITE);
  });
});
