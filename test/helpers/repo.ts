import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
// @ts-expect-error: a plain JS script shared with `npm run example`
import { makeBusyboxRootfs } from '../../scripts/make-busybox-rootfs.js';

const exec = promisify(execFile);
const FIXTURES = join(__dirname, '..', '..', 'fixtures');

/** Fixed identity and dates, so two fresh repositories get identical commits. */
export function gitEnv(date = '2026-01-01T00:00:00Z'): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_AUTHOR_NAME: 'Shop Team',
    GIT_AUTHOR_EMAIL: 'team@shop.invalid',
    GIT_COMMITTER_NAME: 'Shop Team',
    GIT_COMMITTER_EMAIL: 'team@shop.invalid',
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_DATE: date,
  };
}

export interface Repo {
  dir: string;
  git(...args: string[]): Promise<string>;
  /** Commits everything with a fixed date; returns the new HEAD. */
  commitAll(message: string, date?: string): Promise<string>;
  cleanup(): Promise<void>;
}

function repoAt(dir: string, cleanupDir: string): Repo {
  const git = async (...args: string[]) => (await exec('git', args, { cwd: dir, env: gitEnv() })).stdout;
  return {
    dir,
    git,
    async commitAll(message, date) {
      await exec('git', ['add', '-A'], { cwd: dir });
      await exec('git', ['commit', '-q', '--allow-empty', '-m', message], { cwd: dir, env: gitEnv(date) });
      return (await git('rev-parse', 'HEAD')).trim();
    },
    cleanup: () => rm(cleanupDir, { recursive: true, force: true }),
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `bake-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The example shop (fixtures/shop) in a fresh git repository, with a busybox base unless `base: false`. */
export async function shopRepo(options: { base?: boolean } = {}): Promise<Repo> {
  const { dir } = await tempDir('shop');
  await cp(join(FIXTURES, 'shop'), dir, { recursive: true, verbatimSymlinks: true });
  if (options.base !== false) await makeBusyboxRootfs(join(dir, 'base', 'busybox'));
  else await writeFile(join(dir, 'recipes', 'shop.yaml'), 'image: shop\nbake: heavy\nbase: scratch\nservices: [catalog, cart, web]\n');
  await exec('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const repo = repoAt(dir, dir);
  await repo.commitAll('The example shop');
  return repo;
}

/** Clones a repository into a fresh directory (a second machine, as far as bake can tell). */
export async function cloneRepo(source: string): Promise<Repo> {
  const { dir } = await tempDir('clone');
  await exec('git', ['clone', '-q', source, join(dir, 'work')]);
  return repoAt(join(dir, 'work'), dir);
}

export type FileSpec = string | { content: string; mode?: number } | { symlink: string };

/** A git repository with exactly these files, committed. */
export async function gitRepo(files: Record<string, FileSpec>): Promise<Repo> {
  const { dir } = await tempDir('repo');
  await writeFiles(dir, files);
  await exec('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const repo = repoAt(dir, dir);
  await repo.commitAll('initial');
  return repo;
}

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
