import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The CLI as users run it: bin/bake.js over the compiled dist/ (`npm test` builds first). */
export const BAKE_BIN = fileURLToPath(new URL('../../bin/bake.js', import.meta.url));
/** The `bake` command itself (package.json "bin"): the shell launcher that starts Node on bin/bake.js. */
export const BAKE_LAUNCHER = fileURLToPath(new URL('../../bin/bake', import.meta.url));

export interface BakeRun {
  /** The process's exit code; 128 + the signal number when a signal ended it. */
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when `--json` is among the arguments; undefined otherwise or if unparsable. */
  json: any;
}

/**
 * Runs `node bin/bake.js ...args` as a separate process and resolves with what it did; it never
 * rejects on a non-zero exit (`reject: false` is the only mode). `env` is added to this process's
 * environment; stdin is closed so a prompt can never hang a test.
 */
export async function bake(args: string[], options: { cwd?: string; env?: Record<string, string>; reject?: false } = {}): Promise<BakeRun> {
  const result = await execa(process.execPath, [BAKE_BIN, ...args], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: options.env ?? {},
    reject: false,
    stdin: 'ignore',
    stripFinalNewline: false,
    maxBuffer: 64 << 20,
  });
  let json: any;
  if (args.includes('--json')) {
    try {
      json = JSON.parse(result.stdout);
    } catch {
      json = undefined;
    }
  }
  const signal = result.signal ? constants.signals[result.signal] : undefined;
  const exitCode = result.exitCode ?? (signal === undefined ? 1 : 128 + signal);
  // When node itself could not start, there is no stderr from it: say why instead.
  const stderr = result.failed && result.exitCode === undefined && !result.signal ? `${result.stderr}${result.message}` : result.stderr;
  return { exitCode, stdout: result.stdout, stderr, json };
}
