// Shared helpers for the benchmarks: timing, child processes, temp repos. Plain ESM so the
// benchmarks run against the compiled CLI exactly as users run it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The CLI under test as users run it (bin/bake, the package's bin), or BAKE_BENCH_BIN (a private build, say). */
export const bakeBin = process.env.BAKE_BENCH_BIN ?? join(root, 'bin', 'bake');

/**
 * Runs a command, returns seconds taken; throws with its output if it fails. With `rss: true` it
 * runs under GNU time and also returns the peak memory (max RSS, KiB) of the process.
 */
export function timed(file, args, options = {}) {
  const { rss, ...rest } = options;
  const rssFile = rss ? join(mkdtempSync(join(tmpdir(), 'bake-bench-rss-')), 'rss') : undefined;
  const [cmd, argv] = rssFile ? [TIME, ['-f', '%M', '-o', rssFile, file, ...args]] : [file, args];
  const start = process.hrtime.bigint();
  const out = execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...rest });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (!rssFile) return { seconds, stdout: out.toString() };
  const kib = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop());
  rmSync(dirname(rssFile), { recursive: true, force: true });
  return { seconds, stdout: out.toString(), rss: kib };
}

/** GNU time, for max RSS (`apt-get install -y time`). */
const TIME = '/usr/bin/time';
export const peakRss = existsSync(TIME);

export function sh(command, options = {}) {
  return execFileSync('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...options }).toString();
}

export function bake(args, options = {}) {
  return bakeBin.endsWith('.js') ? timed(process.execPath, [bakeBin, ...args], options) : timed(bakeBin, args, options);
}

/** Runs a child process to completion, resolving with its exit code and output. */
export function spawnAsync(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `bake-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function hasDocker() {
  try {
    execFileSync('/usr/bin/docker', ['info'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const fmt = (s) => `${s.toFixed(3)} s`;
export const ratio = (a, b) => `${(a / b).toFixed(1)}×`;

export const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'bench',
  GIT_AUTHOR_EMAIL: 'bench@bake.invalid',
  GIT_COMMITTER_NAME: 'bench',
  GIT_COMMITTER_EMAIL: 'bench@bake.invalid',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
};
