import { lstat, realpath } from 'node:fs/promises';
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
  const base = await realpath(workspace.dir);
  const rel = relative(repo.top, resolve(base, service.sourceAsWritten));
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    refuse(
      `source ${service.sourceAsWritten} is outside the git repository that holds bake.yaml; a version is made of committed files only`,
      'move the service into the repository, or bake a directory deliberately with bake commit --from DIR',
    );
  }
  const parts = rel === '' ? [] : rel.split(sep);
  for (let i = 1; i <= parts.length; i++) {
    const step = parts.slice(0, i);
    const info = await lstat(join(repo.top, ...step)).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      refuse(
        `source ${service.sourceAsWritten} is reached through the symlink ${step.join('/')}; the files it leads to are not the repository's committed files`,
        'point source at the real directory inside the repository, or bake a directory deliberately with bake commit --from DIR',
      );
    }
  }
  return parts.join('/');
}
