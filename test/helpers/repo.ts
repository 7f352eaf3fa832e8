import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
// @ts-expect-error: a plain JS script, shared with `npm run example`
import { makeBusyboxRootfs } from '../../scripts/make-busybox-rootfs.js';

const SHOP = fileURLToPath(new URL('../../fixtures/shop', import.meta.url));
export const DEFAULT_DATE = '2026-01-01T00:00:00Z';
export const AUTHOR = { name: 'Shop Team', email: 'team@shop.invalid' } as const;

/**
 * Git's environment for every command here: a fixed date (so equal content gives equal commits)
 * and no global or system config (a user's autocrlf or gpgsign must not change what is committed).
 */
export function gitEnv(date = DEFAULT_DATE): Record<string, string> {
  return {
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
}

export interface Repo {
  dir: string;
  /** Runs git in the repository; resolves to stdout without the final newline, rejects on failure. */
  git(...args: string[]): Promise<string>;
  /**
   * Stages everything and commits (even when nothing changed) with a fixed author/committer date
   * (default 2026-01-01T00:00:00Z); resolves to the new HEAD. A bare date string is accepted too.
   */
  commitAll(message: string, env?: { date?: string } | string): Promise<string>;
  /** Removes the repository (and the temp directory around it). */
  cleanup(): Promise<void>;
}

export type FileSpec = string | { content: string; mode?: number } | { symlink: string };

/** A fresh empty directory under the system temp directory, named `bake-<prefix>-…`. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `bake-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The example shop (fixtures/shop) in a fresh git repository on branch main, committed once with
 * fixed identity and dates, so two calls give the same HEAD. `base/busybox` is built from the
 * host's busybox unless `base: false`, in which case the recipe is switched to `base: scratch`.
 * Throws when busybox or git is missing.
 */
export async function shopRepo(options: { base?: boolean } = {}): Promise<Repo> {
  const { dir } = await tempDir('shop');
  await cp(SHOP, dir, { recursive: true, verbatimSymlinks: true });
  if (options.base !== false) await makeBusyboxRootfs(join(dir, 'base', 'busybox'));
  else {
    const recipe = join(dir, 'recipes', 'shop.yaml');
    await writeFile(recipe, (await readFile(recipe, 'utf8')).replace(/^base:.*$/m, 'base: scratch'));
  }
  const repo = await initRepo(dir, dir);
  await repo.commitAll('The example shop');
  return repo;
}

/** A git repository holding exactly `files` (text, text with a mode, or a symlink), committed once. */
export async function gitRepo(files: Record<string, FileSpec>): Promise<Repo> {
  const { dir } = await tempDir('repo');
  await writeFiles(dir, files);
  const repo = await initRepo(dir, dir);
  await repo.commitAll('initial');
  return repo;
}

/** Clones a repository into a fresh directory: a second machine, as far as bake can tell. */
export async function cloneRepo(source: string): Promise<Repo> {
  const { dir } = await tempDir('clone');
  const work = join(dir, 'work');
  await execa('git', ['clone', '-q', source, work], { env: gitEnv() });
  return configure(repoAt(work, dir));
}

/** Writes `files` under `dir`, creating parent directories; modes are set exactly (no umask). */
export async function writeFiles(dir: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [path, spec] of Object.entries(files)) {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    if (typeof spec === 'string') await writeFile(full, spec);
    else if ('symlink' in spec) await symlink(spec.symlink, full);
    else {
      await writeFile(full, spec.content);
      if (spec.mode !== undefined) await chmod(full, spec.mode);
    }
  }
}

async function initRepo(dir: string, cleanupDir: string): Promise<Repo> {
  await execa('git', ['init', '-q', '-b', 'main'], { cwd: dir, env: gitEnv() });
  return configure(repoAt(dir, cleanupDir));
}

async function configure(repo: Repo): Promise<Repo> {
  await repo.git('config', 'user.name', AUTHOR.name);
  await repo.git('config', 'user.email', AUTHOR.email);
  return repo;
}

function repoAt(dir: string, cleanupDir: string): Repo {
  const git = async (...args: string[]) => (await execa('git', args, { cwd: dir, env: gitEnv() })).stdout;
  return {
    dir,
    git,
    async commitAll(message, env) {
      const date = (typeof env === 'string' ? env : env?.date) ?? DEFAULT_DATE;
      await git('add', '-A');
      await execa('git', ['commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env: gitEnv(date) });
      return git('rev-parse', 'HEAD');
    },
    cleanup: () => rm(cleanupDir, { recursive: true, force: true }),
  };
}
