import { resolve } from 'node:path';
import { commitServices } from '../../commit/commit-services.js';
import { loadWorkspace } from '../../config/workspace.js';
import { InputError, UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';

export const commitCommand = defineCommand({
  name: 'commit',
  summary: 'record the committed source of services as new versions',
  help: `Usage: bake commit <service>... | --all [--from DIR]

Snapshots each service's committed source (its git tree at HEAD; uncommitted edits are not
part of it), runs its build command if it has one, packs a deterministic layer and records the
next version number in the version manifest. Committing unchanged content creates no new version.

Options:
  --all               commit every service declared in bake.yaml
  --from DIR          take the files from DIR instead of the service's source (one service only)
  --revision REV      with --from: the revision those files come from (recorded with the version)
  --author TEXT       with --from: who wrote that revision
  --commit-time SECS  with --from: its commit time, the clock of the layer (default SOURCE_DATE_EPOCH, else 0)

JSON: {"commits":[{"service","version","digest","layer","revision","created"}]}`,
  options: ['all', 'from', 'revision', 'author', 'commit-time'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const ws = await loadWorkspace(ctx.workspace);
    if (values['all'] === true && positionals.length > 0) throw new UsageError('bake commit: give service names or --all, not both');
    const names = values['all'] === true ? [...ws.services.keys()] : positionals;
    if (names.length === 0) throw new UsageError('bake commit: name at least one service, or pass --all (see bake commit --help)');
    const from = typeof values['from'] === 'string' ? resolve(values['from']) : undefined;
    if (from !== undefined && names.length !== 1) throw new UsageError('bake commit --from DIR takes exactly one service');
    const unknown = names.filter((n) => !ws.services.has(n));
    if (unknown.length > 0) {
      throw new InputError(
        unknown.map((name) => ({
          file: 'command line',
          field: 'service',
          message: `unknown service ${name}`,
          fix: `declare it in bake.yaml, or use one of: ${[...ws.services.keys()].join(', ')}`,
        })),
      );
    }
    const services = names.map((n) => ws.services.get(n)).filter((s) => s !== undefined);
    const time = values['commit-time'];
    const origin = {
      ...(typeof values['revision'] === 'string' && { revision: values['revision'] }),
      ...(typeof values['author'] === 'string' && { author: values['author'] }),
      ...(time !== undefined && { time }),
    };
    if (Object.keys(origin).length > 0 && from === undefined) throw new UsageError('bake commit: --revision, --author and --commit-time describe --from DIR; a git source records its own');
    const commits = await commitServices(ws, services, { env: ctx.env, progress: ctx.progress, ...(from !== undefined && { from, origin }) });
    return {
      json: { commits },
      human: commits.map(
        (c) => `${c.service} v${c.version} ${c.created ? 'committed' : 'unchanged'}  ${c.digest.slice(0, 19)}${c.revision ? `  rev ${c.revision.slice(0, 12)}` : ''}`,
      ),
    };
  },
});
