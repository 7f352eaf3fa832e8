import { execFile } from 'node:child_process';
import { join } from 'node:path';

const BAKE = join(__dirname, '..', '..', 'bin', 'bake.js');

export interface BakeRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when --json was passed. */
  json: any;
}

/** Runs the real `bake` CLI (compiled, as users run it) as a separate process. */
export function bake(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<BakeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BAKE, ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        let json: unknown;
        if (args.includes('--json')) {
          try {
            json = JSON.parse(stdout);
          } catch {
            json = undefined;
          }
        }
        resolve({ exitCode: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, json });
      },
    );
  });
}
