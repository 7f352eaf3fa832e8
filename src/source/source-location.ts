import { lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ServiceConfig } from '../config/types.js';
import { InputError } from '../util/errors.js';
import type { GitRepo } from './git-source.js';

/**
 * Where a service's committed files are in the workspace's git repository: its `source:` read
 * from bake.yaml's directory, lexically, with every step checked to be a real directory. A
 * source outside the repository (`../..`, an absolute path elsewhere) or reached through a
 * symlink (a committed link to an outside directory) would be packed from files no commit
 * holds, so it is refused. Returns the POSIX path inside the repository ('' for its top).
 * Throws InputError (exit 2) naming `services.<name>.source` and the fix: a path inside the
 * repository, or a deliberate `--from DIR`. Messages name no directory of this machine.
 */
export async function sourcePathInRepo(repo: GitRepo, workspace: { dir: string }, service: ServiceConfig): Promise<string> {
  const refuse = (message: string, fix: string): never => {
    throw new InputError([{ file: 'bake.yaml', field: `services.${service.name}.source`, message, fix }]);
  };
  const seen = lookups(repo);
  const base = seen.realpath(workspace.dir);
  const rel = relative(repo.top, resolve(base, service.sourceAsWritten));
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    refuse(
      `source ${service.sourceAsWritten} is outside the git repository that holds bake.yaml; a version is made of committed files only`,
      'move the service into the repository, or bake a directory deliberately with bake commit --from DIR',
    );
  }
  const parts = rel === '' ? [] : rel.split(sep);
  for (let i = 1; i <= parts.length; i++) {
    const step = parts.slice(0, i).join('/');
    if (seen.isSymlink(step)) {
      refuse(
        `source ${service.sourceAsWritten} is reached through the symlink ${step}; the files it leads to are not the repository's committed files`,
        'point source at the real directory inside the repository, or bake a directory deliberately with bake commit --from DIR',
      );
    }
  }
  return parts.join('/');
}

/**
 * What one command has looked up in a repository's work tree. A monorepo's 200 services share the
 * workspace's real path and their parent directories: asked one by one (three awaited thread-pool
 * round trips per service) they cost 80 ms, answered once each and synchronously (a few µs per
 * lstat of a local directory) about 1 ms. Kept per repository object, which lives for one command.
 */
interface Lookups {
  realpath(dir: string): string;
  /** Whether the repository path (POSIX, relative to the top) is a symlink; false when it does not exist. */
  isSymlink(step: string): boolean;
}

const byRepo = new WeakMap<GitRepo, Lookups>();

function lookups(repo: GitRepo): Lookups {
  const known = byRepo.get(repo);
  if (known) return known;
  const real = new Map<string, string>();
  const links = new Map<string, boolean>();
  const made: Lookups = {
    realpath(dir) {
      let path = real.get(dir);
      if (path === undefined) real.set(dir, (path = realpathSync.native(dir)));
      return path;
    },
    isSymlink(step) {
      let link = links.get(step);
      if (link === undefined) {
        try {
          link = lstatSync(join(repo.top, ...step.split('/')), { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
        } catch {
          link = false; // unreadable: git's own listing decides what is committed there
        }
        links.set(step, link);
      }
      return link;
    },
  };
  byRepo.set(repo, made);
  return made;
}
