import { isAbsolute } from 'node:path';
import { recordCommits, type CommitResult as ServiceCommit, type DirectoryTree } from '../commit/commit-services.js';
import type { ServiceConfig, WorkspaceConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import { InputError, UsageError } from '../util/errors.js';
import type { HistoryProof } from '../history/follows.js';
import type { CommitRefusal } from '../history/history-refusal.js';
import type { TreeEntry } from '../tree/tree.js';
import type { AppContext } from './context.js';

/** A service committed from a directory rather than from its source: `--from DIR`, or an upload. */
export interface ServiceTree {
  service: string;
  /** Absolute path of the directory holding the files (or `entries`). */
  dir?: string;
  /** The files themselves, instead of `dir`: an upload the service holds in memory. */
  entries?: readonly TreeEntry[];
  /** The revision those files come from (recorded with the version; lets a git tree be recognised). */
  revision?: string;
  /** Who wrote that revision. */
  author?: string;
  /** Its commit time in seconds: the clock of the layer (default SOURCE_DATE_EPOCH, else 0). */
  time?: number;
  /**
   * The history gate's precondition. `{after: N}` (`--after N`): recorded only while the latest
   * version is N (0: none yet), else refused as `moved`. From a remote caller, also the ancestry
   * it proved in its checkout for `revision`. Absent: a directory is ordered by arrival.
   */
  proof?: HistoryProof;
}

export interface CommitOptions {
  /** Services to commit from their sources (their git trees at HEAD), by name. */
  services?: readonly string[];
  /** Every service declared in bake.yaml. */
  all?: boolean;
  /** Services to commit from a directory each instead. */
  trees?: readonly ServiceTree[];
}

/** What `bake commit --json` prints: the versions recorded or unchanged, and what the history gate refused. */
export interface CommitResult {
  commits: ServiceCommit[];
  /** Services not recorded because the caller's history does not follow their latest version (the command exits 3). */
  refused: CommitRefusal[];
}

export type { CommitRefusal, ServiceCommit };

/**
 * Records the committed source of each named service (or each tree given) as its next version,
 * in the order git history gives; unchanged content creates no version. A service whose checkout
 * does not follow its latest version is not recorded but listed in `refused` (and recorded as a
 * refusal); the others are recorded all the same. Throws UsageError when nothing or both names and
 * --all are given, InputError for an unknown service, and what recordCommits throws.
 */
export async function commit(ctx: AppContext, options: CommitOptions): Promise<CommitResult> {
  // A commit of given trees only (`--from DIR`, a service's uploads) reads no source: a source
  // directory missing on this host is no reason to refuse it (and `bake serve` saves a stat per
  // service on every commit).
  const treesOnly = (options.trees?.length ?? 0) > 0 && options.all !== true && (options.services?.length ?? 0) === 0;
  return commitIn(ctx, await loadWorkspace(ctx.workspace, { checkSources: !treesOnly }), options);
}

/** {@link commit} in a workspace already loaded (`build --commit`: bake.yaml is read once per command). */
export async function commitIn(ctx: AppContext, ws: WorkspaceConfig, options: CommitOptions): Promise<CommitResult> {
  const { services, trees } = selectCommit(ws, options);
  return recordCommits(ws, services, { env: ctx.env, progress: ctx.progress, ...(trees.size > 0 && { trees }) });
}

/**
 * The services a commit names, in order, and the directory each tree-committed one comes from.
 * Shared with the service client, which must upload exactly these. Throws UsageError, InputError.
 */
export function selectCommit(
  ws: WorkspaceConfig,
  options: CommitOptions,
): { services: ServiceConfig[]; trees: Map<string, DirectoryTree> } {
  const given = options.trees ?? [];
  if (options.all === true && ((options.services?.length ?? 0) > 0 || given.length > 0)) {
    throw new UsageError('bake commit: give service names or --all, not both');
  }
  const names = options.all === true ? [...ws.services.keys()] : [...(options.services ?? []), ...given.map((t) => t.service)];
  if (names.length === 0) throw new UsageError('bake commit: name at least one service, or pass --all (see bake commit --help)');
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw new UsageError(`bake commit: ${[...new Set(twice)].join(', ')} named twice`);
  const unknown = names.filter((n) => !ws.services.has(n));
  if (unknown.length > 0) throw unknownServices(ws, unknown);
  const trees = new Map<string, DirectoryTree>();
  for (const tree of given) {
    const files = tree.entries ?? tree.dir;
    if (files === undefined || (typeof files === 'string' && !isAbsolute(files))) {
      throw new UsageError(`bake commit: the directory of ${tree.service} must be an absolute path, got ${JSON.stringify(tree.dir)}`);
    }
    const origin = {
      ...(tree.revision !== undefined && { revision: tree.revision }),
      ...(tree.author !== undefined && { author: tree.author }),
      ...(tree.time !== undefined && { time: tree.time }),
    };
    trees.set(tree.service, { files, ...(Object.keys(origin).length > 0 && { origin }), ...(tree.proof && { proof: tree.proof }) });
  }
  return { services: names.map((n) => ws.services.get(n)).filter((s) => s !== undefined), trees };
}

function unknownServices(ws: WorkspaceConfig, unknown: readonly string[]): InputError {
  return new InputError(
    unknown.map((name) => ({
      file: 'command line',
      field: 'service',
      message: `unknown service ${name}`,
      fix: `declare it in bake.yaml, or use one of: ${[...ws.services.keys()].join(', ')}`,
    })),
  );
}
