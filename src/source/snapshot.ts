import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildCommandError, InputError } from '../util/errors.js';
import type { ServiceConfig } from '../config/types.js';
import { assertSafeEntries } from '../tree/safe-entries.js';
import { runShell } from '../util/exec.js';
import { buildCommandEnv } from '../util/command-env.js';
import { withGitModes } from '../tree/git-modes.js';
import { bakeClock } from '../util/clock.js';
import { readDirectoryTree } from './directory-source.js';
import type { CommittedTree } from './git-source.js';
import { gitTreeId } from './git-tree-id.js';
import { sha256Digest, type Digest } from '../util/digest.js';
import { materialize } from './materialize.js';
import type { TreeEntry } from '../tree/tree.js';
import { declarationSalt } from '../compat/read-declarations.js';

/**
 * A digest of a service's committed content that needs no file reads: derived from the git tree
 * id, the install path, the output directory and bake.yaml's inline declarations (provides, requires,
 * schema levels: src/compat). Equal tree ids mean identical committed content,
 * so an unchanged service is recognised without reading it.
 */
export function treeDigest(service: ServiceConfig, tree: string): Digest {
  return sha256Digest(`bake-git-tree-v1\0${tree}\0${service.install}\0${service.output ?? ''}${declarationSalt(service)}`);
}

/** What a service's files are and where they came from, before they become a layer. */
export interface Snapshot {
  entries: TreeEntry[];
  source: 'git' | 'directory';
  revision?: string;
  author?: string;
  /** Seconds since the epoch: the clock of everything packed from this snapshot. */
  time: number;
  /** Content digest known without hashing (git tree id based), when there is one. */
  treeDigest?: Digest;
}

export interface SnapshotOptions {
  /** Take the files from this directory (or these entries) instead of the service's committed source. */
  from?: string | readonly TreeEntry[];
  /** Where `from`'s files came from, recorded with the version. */
  origin?: { revision?: string; author?: string; time?: number };
  /** The service's committed tree, read beforehand (in a batch) when it lives in git. */
  committed?: CommittedTree;
  /** Scratch space for build commands. */
  workDir: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Snapshots a service: its committed git tree (or a plain directory, or `--from`), then its build
 * command on a scratch copy, then its `output` sub-directory. The result is checked safe and has
 * git's modes (0644/0755 files, 0755 directories), whatever the source. The build command runs
 * without the environment's secrets (buildCommandEnv). Throws GitError, BuildCommandError,
 * UnsafeSourceError, InputError.
 */
export async function snapshotService(service: ServiceConfig, options: SnapshotOptions): Promise<Snapshot> {
  const label = `service ${service.name}`;
  let snapshot: Snapshot;
  if (options.from !== undefined) {
    const origin = options.origin ?? {};
    snapshot = {
      entries: withGitModes(typeof options.from === 'string' ? await readDirectoryTree(options.from, { label }) : [...options.from]),
      source: origin.revision !== undefined ? 'git' : 'directory',
      time: bakeClock(origin.time, options.env),
      ...(origin.revision !== undefined && { revision: origin.revision }),
      ...(origin.author !== undefined && { author: origin.author }),
    };
    // Files uploaded from a git checkout: recognise the committed tree, so this version dedupes
    // with a local commit of the same content.
    if (origin.revision !== undefined && service.build === undefined) {
      const tree = await gitTreeId(snapshot.entries);
      if (tree !== undefined) snapshot.treeDigest = treeDigest(service, tree);
    }
  } else if (options.committed) {
    const tree = options.committed;
    snapshot = {
      entries: tree.entries,
      source: 'git',
      revision: tree.revision,
      author: tree.author,
      time: bakeClock(tree.commitTime, options.env),
    };
    if (service.build === undefined) snapshot.treeDigest = treeDigest(service, tree.tree);
  } else {
    snapshot = {
      entries: withGitModes(await readDirectoryTree(service.source, { label })),
      source: 'directory',
      time: bakeClock(undefined, options.env),
    };
  }
  assertSafeEntries(snapshot.entries, { label, links: 'contained' });
  if (service.build !== undefined) snapshot = { ...snapshot, entries: await runBuild(service, snapshot, options) };
  if (service.output !== undefined) snapshot = { ...snapshot, entries: selectOutput(service, snapshot.entries) };
  assertSafeEntries(snapshot.entries, { label, links: 'contained' });
  return snapshot;
}

async function runBuild(service: ServiceConfig, snapshot: Snapshot, options: SnapshotOptions): Promise<TreeEntry[]> {
  const scratch = await mkdtemp(join(options.workDir, `build-${service.name}-`));
  try {
    await materialize(snapshot.entries, scratch, `service ${service.name}`);
    const { output, exitCode } = await runShell(service.build ?? '', {
      cwd: scratch,
      baseEnv: buildCommandEnv(options.env ?? process.env),
      env: { SOURCE_DATE_EPOCH: String(snapshot.time), BAKE_SERVICE: service.name },
    });
    if (exitCode !== 0) {
      throw new BuildCommandError(
        `service ${service.name}: build command \`${service.build}\` exited with ${exitCode}:\n${output.trimEnd()}`,
        service.name,
        output,
      );
    }
    // Read everything into memory before the scratch copy is removed.
    const built = withGitModes(await readDirectoryTree(scratch, { label: `service ${service.name} (after build)` }));
    return Promise.all(built.map(async (e) => (e.read ? { ...e, read: constant(await e.read()) } : e)));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function constant(body: Buffer): () => Promise<Buffer> {
  return async () => body;
}

function selectOutput(service: ServiceConfig, entries: TreeEntry[]): TreeEntry[] {
  const prefix = `${service.output?.replace(/^\.?\/+|\/+$/g, '')}/`;
  const selected = entries.filter((e) => e.path.startsWith(prefix)).map((e) => ({ ...e, path: e.path.slice(prefix.length) }));
  if (!selected.some((e) => e.type === 'file')) {
    throw new InputError([
      {
        file: 'bake.yaml',
        field: `services.${service.name}.output`,
        message: `output directory ${service.output} is empty or missing after the build`,
        fix: 'make the build command write its result there, or remove `output:`',
      },
    ]);
  }
  return selected;
}
