import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The certificates NODE_EXTRA_CA_CERTS adds to Node's own, for the connections bake opens itself.
 *
 * bin/bake starts Node without NODE_EXTRA_CA_CERTS (Node parses that file before any script runs,
 * 100 ms of every command with a 200 KB bundle) and names the file in BAKE_EXTRA_CA_CERTS instead.
 * Here it is read once, the first time a TLS connection needs it: undefined without
 * BAKE_EXTRA_CA_CERTS (Node's defaults apply, NODE_EXTRA_CA_CERTS in them when Node was started
 * with it), else Node's root certificates plus the file's. A file that cannot be read is ignored
 * with the warning Node gives for it.
 */
let trusted: string[] | null | undefined;

export function extraTrustedCertificates(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  if (trusted !== undefined) return trusted ?? undefined;
  const file = env['BAKE_EXTRA_CA_CERTS'];
  trusted = null;
  if (!file) return undefined;
  try {
    trusted = [...rootCertificates, readFileSync(file, 'utf8')];
  } catch (error) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
  }
  return trusted ?? undefined;
}
