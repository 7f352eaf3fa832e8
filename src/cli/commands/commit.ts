import { resolve } from 'node:path';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

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
    const from = values['from'];
    const time = values['commit-time'];
    const origin = {
      ...(values['revision'] !== undefined && { revision: values['revision'] }),
      ...(values['author'] !== undefined && { author: values['author'] }),
      ...(time !== undefined && { time }),
    };
    if (Object.keys(origin).length > 0 && from === undefined) {
      throw new UsageError('bake commit: --revision, --author and --commit-time describe --from DIR; a git source records its own');
    }
    if (from !== undefined && (values['all'] === true || positionals.length !== 1)) {
      throw new UsageError('bake commit --from DIR takes exactly one service');
    }
    // The directory is the caller's: resolved here, against the caller's working directory.
    const options =
      from !== undefined
        ? { trees: [{ service: positionals[0] ?? '', dir: resolve(from), ...origin }] }
        : { services: positionals, ...(values['all'] === true && { all: true }) };
    const { commits } = await invoke(ctx, 'commit', options);
    return {
      json: { commits },
      human: commits.map(
        (c) =>
          `${c.service} v${c.version} ${c.created ? 'committed' : 'unchanged'}  ${c.digest.slice(0, 19)}` +
          `${c.revision ? `  rev ${c.revision.slice(0, 12)}` : ''}`,
      ),
    };
  },
});
