import { spawn } from 'node:child_process';

/**
 * Every child process the tool starts goes through here. Short, hot calls (git) use
 * node:child_process directly: importing execa costs ~80 ms of start-up, more than a whole
 * unchanged commit. Build commands, which want execa's interleaved output, timeouts and cleanup,
 * load it on first use.
 */

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  cwd?: string;
  /** Variables set on top of `baseEnv`. */
  env?: Record<string, string>;
  /** The environment the child starts from; default this process's (build commands pass buildCommandEnv's). */
  baseEnv?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** runShell only: written to the command's standard input (default: none, stdin is closed). */
  input?: string;
}

/** A program that could not be started at all (not installed, cwd missing). */
export class SpawnError extends Error {
  override name = 'SpawnError';
  readonly code: string | undefined;
  constructor(file: string, cause: NodeJS.ErrnoException) {
    super(`cannot run ${file}: ${cause.code ?? cause.message}`, { cause });
    this.code = cause.code;
  }
}

/** Runs a program with arguments (no shell). Never throws on a non-zero exit; throws SpawnError if it cannot start. */
export async function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await runBuffer(file, args, options);
  return { stdout: result.stdout.toString('utf8'), stderr: result.stderr, exitCode: result.exitCode };
}

/** Runs a program and returns its stdout as bytes (for binary output such as `git archive`). */
export function runBuffer(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { ...(options.baseEnv ?? process.env), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', (error: NodeJS.ErrnoException) => reject(new SpawnError(file, error)));
    child.once('close', (code, signal) => {
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? (signal ? 128 : 1) });
    });
  });
}

/**
 * Runs a shell command line (a service's `build:`), merging stdout and stderr for the report. The
 * child sees exactly `baseEnv` (default: this process's environment) plus `env`.
 */
export async function runShell(command: string, options: RunOptions = {}): Promise<{ output: string; exitCode: number }> {
  const { execa } = await importExeca();
  const result = await execa('sh', ['-c', command], {
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    env: { ...(options.baseEnv ?? process.env), ...options.env },
    extendEnv: false,
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
    ...(options.input !== undefined && { input: options.input }),
    all: true,
    reject: false,
  });
  return { output: result.all ?? '', exitCode: result.exitCode ?? 1 };
}

/**
 * execa is an ES module only. The CLI runs its bundle as a classic script (so V8 can keep its
 * compiled code: bin/bake.js), where `import()` needs an experimental flag; bin/bake.js, an ES
 * module, hands in its own import as `globalThis.__bakeImport`. Elsewhere (the library, tests),
 * the plain dynamic import.
 */
function importExeca(): Promise<typeof import('execa')> {
  const esmImport = (globalThis as { __bakeImport?: (specifier: string) => Promise<unknown> }).__bakeImport;
  return esmImport ? (esmImport('execa') as Promise<typeof import('execa')>) : import('execa');
}
