import { execa } from 'execa';

/** The owner of execa: every child process the tool starts goes through here. */

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Runs a program with arguments (no shell). Never throws on a non-zero exit: callers decide. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await execa(file, args, {
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.env !== undefined && { env: options.env }),
    ...(options.input !== undefined && { input: options.input }),
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    reject: false,
    stripFinalNewline: false,
  });
  if (result.failed && result.exitCode === undefined) {
    // Could not start at all (ENOENT) or was killed by the timeout.
    throw result;
  }
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? 1 };
}

/** Runs a program and returns its stdout as bytes (for binary output such as `git archive`). */
export async function runBuffer(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const result = await execa(file, args, {
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.env !== undefined && { env: options.env }),
    encoding: 'buffer',
    reject: false,
    maxBuffer: 2 * 1024 * 1024 * 1024,
  });
  if (result.failed && result.exitCode === undefined) throw result;
  return {
    stdout: Buffer.from(result.stdout),
    stderr: Buffer.from(result.stderr).toString('utf8'),
    exitCode: result.exitCode ?? 1,
  };
}

/** Runs a shell command line (a service's `build:`), merging stdout and stderr for the report. */
export async function runShell(command: string, options: RunOptions = {}): Promise<{ output: string; exitCode: number }> {
  const result = await execa('sh', ['-c', command], {
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    ...(options.env !== undefined && { env: options.env, extendEnv: true }),
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    all: true,
    reject: false,
  });
  return { output: result.all ?? '', exitCode: result.exitCode ?? 1 };
}
