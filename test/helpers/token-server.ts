import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

/**
 * A real token service for a registry with `auth: token`: checks Basic credentials and returns a
 * JWT signed with a throwaway key whose self-signed certificate (made with openssl) is the
 * registry's root bundle. The x5c header carries the certificate, as distribution expects.
 */
export async function startTokenServer(
  dir: string,
  user: { username: string; password: string },
): Promise<{ realm: string; certFile: string; issued: () => number; stop(): Promise<void> }> {
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.crt');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=bake-test-token'],
    { stdio: 'ignore' },
  );
  const key = createPrivateKey(readFileSync(keyFile));
  const certDer = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  let issued = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const access = (url.searchParams.getAll('scope') ?? []).flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return type && name && actions ? [{ type, name, actions: actions.split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = `${b64({ alg: 'RS256', typ: 'JWT', x5c: [certDer] })}.${b64({
      iss: 'bake-test',
      sub: user.username,
      aud: url.searchParams.get('service'),
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access,
    })}`;
    const token = `${body}.${sign('sha256', Buffer.from(body), key).toString('base64url')}`;
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certFile,
    issued: () => issued,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
