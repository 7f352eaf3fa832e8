// Shared helpers for the benchmarks: timing, child processes, temp repos. Plain ESM so the
// benchmarks run against the compiled CLI exactly as users run it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bakeBin = join(root, 'bin', 'bake.js');

/** Runs a command, returns seconds taken; throws with its output if it fails. */
export function timed(file, args, options = {}) {
  const start = process.hrtime.bigint();
  const out = execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...options });
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, stdout: out.toString() };
}

export function sh(command, options = {}) {
  return execFileSync('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30, ...options }).toString();
}

export function bake(args, options = {}) {
  return timed(process.execPath, [bakeBin, ...args], options);
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
