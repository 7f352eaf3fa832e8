import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BAKE_BIN } from '../helpers/bake-cli.js';
import { tempDir } from '../helpers/repo.js';

/** A running `bake serve` and the tokens it accepts. */
export interface ServeProcess {
  url: string;
  /** A deployer's token (write) and a viewer's (read), both named in the token file. */
  tokens: { write: string; read: string };
  child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited within 5 s; resolves with how it exited. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export const WRITE_TOKEN = 'deployer-'.padEnd(40, 'w');
export const READ_TOKEN = 'viewer-'.padEnd(40, 'r');

/**
 * `bake -C workspace serve` as its own process on a free port, with a token file (mode 0600, in a
 * directory of its own) holding a write token named "deployer" and a read token named "viewer".
 */
export async function startServe(workspace: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const dir = await tempDir('dashboard-tokens');
  const file = join(dir.dir, 'tokens');
  await writeFile(file, `write ${WRITE_TOKEN} deployer\nread ${READ_TOKEN} viewer\n`);
  await chmod(file, 0o600);
  const child = spawn(process.execPath, [BAKE_BIN, '-C', workspace, 'serve', '--tokens', file, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`bake serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    tokens: { write: WRITE_TOKEN, read: READ_TOKEN },
    child,
    async stop() {
      const started = Date.now();
      if (child.exitCode !== null || child.signalCode !== null) {
        await dir.cleanup();
        return { code: child.exitCode, signal: child.signalCode, ms: 0 };
      }
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      const how = await exited;
      clearTimeout(kill);
      await dir.cleanup();
      return { ...how, ms: Date.now() - started };
    },
  };
}
