import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './repo.js';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Debian's docker-registry (distribution) on 127.0.0.1 with a config of its own and a temp
 * storage directory (`dataDir`, the filesystem driver's root); `htpasswd` turns on basic auth.
 * Stopped and removed by `stop`.
 */
export async function startRegistry(
  options: { htpasswd?: string; token?: { realm: string; certFile: string } } = {},
): Promise<{ address: string; dataDir: string; stop(): Promise<void> }> {
  const dir = await tempDir('registry');
  const port = await freePort();
  let auth = '';
  if (options.htpasswd) {
    await writeFile(join(dir.dir, 'htpasswd'), options.htpasswd);
    auth = `auth:\n  htpasswd:\n    realm: bake-test\n    path: ${join(dir.dir, 'htpasswd')}\n`;
  }
  if (options.token) {
    auth = `auth:\n  token:\n    realm: ${options.token.realm}\n    service: bake-registry\n    issuer: bake-test\n    rootcertbundle: ${options.token.certFile}\n`;
  }
  await writeFile(
    join(dir.dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir.dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir.dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await fetch(`http://${address}/v2/`);
      if (response.status === 200 || response.status === 401) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    dataDir: join(dir.dir, 'data'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      await dir.cleanup();
    },
  };
}
