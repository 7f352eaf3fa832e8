import { resolve } from 'node:path';
import { HistoryRefusedError } from '../../history/history-refusal.js';
import { ExitCode, UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const commitCommand = defineCommand({
  name: 'commit',
  summary: 'record the committed source of services as new versions',
  help: `Usage: bake commit <service>... | --all [--from DIR [--after N]]

Snapshots each service's committed source (its git tree at HEAD; uncommitted edits are not
part of it), runs its build command if it has one, packs a deterministic layer and records the
next version number in the version manifest. Committing unchanged content creates no new version.

Order follows git history: a new version of a service is recorded only when your checkout
contains the revision its latest version came from. Otherwise it is refused (exit 3): "behind"
(pull first) or "diverged" (both sides changed it: merge first). The other services are recorded
all the same; the refusals are listed, and recorded for bake log.

Options:
  --all               commit every service declared in bake.yaml
  --from DIR          take the files from DIR instead of the service's source (one service only);
                      a directory carries no history: it is ordered by arrival, or by --after
  --after N           with --from: record only while the service's latest version is N (0: it has
                      none yet), else refuse with "moved" (exit 3): a compare-and-set
  --revision REV      with --from: the revision those files come from (recorded with the version)
  --author TEXT       with --from: who wrote that revision
  --commit-time SECS  with --from: its commit time, the clock of the layer (default SOURCE_DATE_EPOCH, else 0)

JSON: {"commits":[{"service","version","digest","layer","revision","created"}],
       "refused":[{"kind","service","recorded","candidate","fix","message"}]}
      and, when something was refused (exit 3), "error": the first refusal as an error document.`,
  options: ['all', 'from', 'after', 'revision', 'author', 'commit-time'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const from = values['from'];
    const time = values['commit-time'];
    const after = values['after'];
    const origin = {
      ...(values['revision'] !== undefined && { revision: values['revision'] }),
      ...(values['author'] !== undefined && { author: values['author'] }),
      ...(time !== undefined && { time }),
    };
    if ((Object.keys(origin).length > 0 || after !== undefined) && from === undefined) {
      throw new UsageError(
        'bake commit: --revision, --author, --commit-time and --after describe --from DIR; a git source records its own, ordered by its history',
      );
    }
    if (from !== undefined && (values['all'] === true || positionals.length !== 1)) {
      throw new UsageError('bake commit --from DIR takes exactly one service');
    }
    // The directory is the caller's: resolved here, against the caller's working directory.
    const proof = after !== undefined ? { proof: { after } } : {};
    const options =
      from !== undefined
        ? { trees: [{ service: positionals[0] ?? '', dir: resolve(from), ...origin, ...proof }] }
        : { services: positionals, ...(values['all'] === true && { all: true }) };
    const { commits, refused } = await invoke(ctx, 'commit', options);
    const human = [
      ...commits.map(
        (c) =>
          `${c.service} v${c.version} ${c.created ? 'committed' : 'unchanged'}  ${c.digest.slice(0, 19)}` +
          `${c.revision ? `  rev ${c.revision.slice(0, 12)}` : ''}`,
      ),
      ...refused.map((r) => `${r.service} REFUSED (${r.kind}): ${r.message}`),
    ];
    const first = refused[0];
    if (!first) return { json: { commits, refused }, human };
    // Exit 3 and an error document, as for every refusal: the first one, with what was recorded all the same.
    const error = new HistoryRefusedError(first);
    return {
      json: { commits, refused, error: { kind: error.kind, message: error.message, ...error.details() } },
      human,
      exitCode: ExitCode.refused,
    };
  },
});
