import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A key and a self-signed certificate for 127.0.0.1, as files in a directory and as bytes. */
export interface SelfSigned {
  keyFile: string;
  certFile: string;
  key: Buffer;
  /** The certificate, which is also the CA a client must be given to trust it. */
  cert: Buffer;
}

/**
 * Makes an RSA key and a one-day self-signed certificate for IP 127.0.0.1 with openssl in `dir`
 * (key.pem, cert.pem). Throws when openssl is missing (ask requireTools('openssl') first).
 */
export async function selfSignedCertificate(dir: string): Promise<SelfSigned> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]),
    { stdio: 'ignore' },
  );
  return { keyFile, certFile, key: await readFile(keyFile), cert: await readFile(certFile) };
}
