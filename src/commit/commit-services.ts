import { mkdir } from 'node:fs/promises';
import type { ServiceConfig, WorkspaceConfig } from '../config/types.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { waitingMessage } from '../lock/file-lock.js';
import { writeLayer, type Layer } from '../layer/layer.js';
import { readManifest, updateManifest } from '../manifest/manifest-file.js';
import { latestVersion, type CommittedVersion } from '../manifest/model.js';
import { markSupersededBuilds } from '../manifest/staleness.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { snapshotService, treeDigest, type Snapshot } from '../source/snapshot.js';
import type { Digest } from '../util/digest.js';
import { openGitRepo, type CommittedTree, type GitRepo } from '../source/git-source.js';
import { sourcePathInRepo } from '../source/source-location.js';
import { mapLimit } from '../util/map-limit.js';
import { contentDigest } from '../tree/tree.js';
import { isoSeconds } from '../util/clock.js';
import { currentActor, workspacePaths } from '../config/workspace-paths.js';

/** A directory that stands in for a service's source: `--from DIR`, or a tree uploaded to the service. */
export interface DirectoryTree {
  /** Absolute path of the directory holding the files. */
  dir: string;
  /** Where the files came from (a CI job uploading a committed tree knows this), recorded with the version. */
  origin?: { revision?: string; author?: string; time?: number };
}

export interface CommitOptions {
  /** Per service name: snapshot this directory instead of the service's committed source. */
  trees?: ReadonlyMap<string, DirectoryTree>;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
}

export interface CommitResult {
  service: string;
  version: number;
  /** Content digest of the version. */
  digest: string;
  /** Digest of the layer that installs it. */
  layer: string;
  revision: string | null;
  /** False when identical content was already the latest version. */
  created: boolean;
}

/**
 * Records a new committed version of each service whose content changed since its latest
 * version. The layer is stored (content-addressed) before the manifest names it, so a crash in
 * between leaves at worst an unreferenced blob. Throws GitError, UnsafeSourceError,
 * BuildCommandError, ManifestError, LockError.
 */
export async function commitServices(
  ws: WorkspaceConfig,
  services: readonly ServiceConfig[],
  options: CommitOptions = {},
): Promise<CommitResult[]> {
  const paths = workspacePaths(ws.dir);
  const progress = options.progress ?? silent;
  await mkdir(paths.work, { recursive: true });
  const store = await openLayoutStore(paths.store);
  const sources = await locateSources(
    ws,
    services.filter((s) => !options.trees?.has(s.name)),
  );
  const known = await readManifest(paths.manifest);

  // An unchanged git tree is recognised from its id alone: no file is read.
  const isUnchanged = (service: ServiceConfig) => {
    const tree = sources.get(service.name)?.tree;
    const before = latestVersion(known, service.name);
    return tree !== undefined && service.build === undefined && before?.digest === treeDigest(service, tree);
  };
  const committed = await readCommitted(
    services.filter((s) => sources.has(s.name) && !isUnchanged(s)),
    sources,
  );

  // Services are independent: snapshot and pack them concurrently (git and disk overlap)...
  const prepared = await mapLimit(services, 4, async (service): Promise<Prepared> => {
    const before = latestVersion(known, service.name);
    if (before && isUnchanged(service)) return { service, unchanged: before };
    progress({ kind: 'step', message: `snapshot ${service.name}` });
    const tree = committed.get(service.name);
    const directory = options.trees?.get(service.name);
    const snapshot = await snapshotService(service, {
      workDir: paths.work,
      ...(tree && { committed: tree }),
      ...(directory && { from: directory.dir }),
      ...(directory?.origin !== undefined && { origin: directory.origin }),
      ...(options.env !== undefined && { env: options.env }),
    });
    const digest = snapshot.treeDigest ?? (await contentDigest(snapshot.entries, `${service.install}\0${service.build ?? ''}`));
    if (before?.digest === digest) return { service, unchanged: before };
    progress({ kind: 'step', message: `pack ${service.name}` });
    const layer = await writeLayer(store, snapshot.entries, { prefix: service.install, mtime: snapshot.time });
    return { service, snapshot, digest, layer };
  });
  if (prepared.every((p) => p.unchanged)) return prepared.map((p) => resultOf(p.service.name, p.unchanged as CommittedVersion, false));

  // ...then record them all in one write. The layers are already stored, so a crash before this
  // leaves at worst unreferenced blobs.
  const names = prepared.filter((p) => !p.unchanged).map((p) => p.service.name);
  const results = await updateManifest(
    paths.manifest,
    {
      purpose: `commit ${names.join(', ')}`,
      ...lockTuning(options.env),
      onWait: (holder) => progress({ kind: 'wait', message: waitingMessage(holder) }),
    },
    async (manifest) => {
      let write = false;
      const results = prepared.map((p) => {
        const latest = latestVersion(manifest, p.service.name);
        if (p.unchanged || !p.snapshot || !p.layer || !p.digest)
          return resultOf(p.service.name, latest ?? (p.unchanged as CommittedVersion), false);
        if (latest?.digest === p.digest) return resultOf(p.service.name, latest, false);
        const version: CommittedVersion = {
          version: (latest?.version ?? 0) + 1,
          digest: p.digest,
          layer: { digest: p.layer.descriptor.digest, size: p.layer.descriptor.size, mediaType: p.layer.descriptor.mediaType },
          install: p.service.install,
          source: p.snapshot.source,
          ...(p.snapshot.revision !== undefined && { revision: p.snapshot.revision }),
          ...(p.snapshot.author !== undefined && { author: p.snapshot.author }),
          created: isoSeconds(p.snapshot.time),
          recordedAt: new Date().toISOString(),
          recordedBy: currentActor(options.env),
          generation: manifest.generation + 1,
        };
        (manifest.services[p.service.name] ??= { versions: [] }).versions.push(version);
        write = true;
        return resultOf(p.service.name, version, true);
      });
      if (write) markSupersededBuilds(manifest);
      return { result: results, write };
    },
  );
  for (const r of results) progress({ kind: 'done', message: `${r.service} v${r.version}${r.created ? '' : ' (unchanged)'}` });
  return results;
}

/** A service after snapshot and pack, before it is recorded. */
interface Prepared {
  service: ServiceConfig;
  unchanged?: CommittedVersion;
  snapshot?: Snapshot;
  digest?: Digest;
  layer?: Layer;
}

/** Reads the committed trees of services, batched per repository. */
async function readCommitted(services: readonly ServiceConfig[], sources: Map<string, GitSource>): Promise<Map<string, CommittedTree>> {
  const byRepo = new Map<GitRepo, ServiceConfig[]>();
  for (const service of services) {
    const source = sources.get(service.name);
    if (source) byRepo.set(source.repo, [...(byRepo.get(source.repo) ?? []), service]);
  }
  const result = new Map<string, CommittedTree>();
  for (const [repo, members] of byRepo) {
    const trees = await repo.readTrees(members.map((s) => ({ path: sources.get(s.name)?.path ?? '', label: `service ${s.name}` })));
    for (const s of members) {
      const tree = trees.get(sources.get(s.name)?.path ?? '');
      if (tree) result.set(s.name, tree);
    }
  }
  return result;
}

interface GitSource {
  repo: GitRepo;
  path: string;
  /** Tree id at HEAD; undefined when nothing is committed there. */
  tree?: string;
}

/**
 * Finds which services live in a git repository, with one `git ls-tree` for all of them. Sources
 * outside the workspace's repository are looked up on their own.
 */
async function locateSources(ws: WorkspaceConfig, services: readonly ServiceConfig[]): Promise<Map<string, GitSource>> {
  const located = new Map<string, GitSource>();
  if (services.length === 0) return located;
  const main = await openGitRepo(ws.dir, 'workspace');
  const inMain: { service: ServiceConfig; path: string }[] = [];
  for (const service of services) {
    const path = main ? await sourcePathInRepo(main, ws, service) : undefined;
    if (main && path !== undefined) {
      inMain.push({ service, path });
      continue;
    }
    const own = await openGitRepo(service.source, `service ${service.name}`);
    const ownPath = own ? await own.pathOf(service.source) : undefined;
    if (own && ownPath !== undefined) {
      const tree = (await own.treeIds([ownPath])).get(ownPath);
      located.set(service.name, { repo: own, path: ownPath, ...(tree !== undefined && { tree }) });
    }
  }
  if (main && inMain.length > 0) {
    const trees = await main.treeIds(inMain.map((s) => s.path));
    for (const { service, path } of inMain) {
      const tree = trees.get(path);
      located.set(service.name, { repo: main, path, ...(tree !== undefined && { tree }) });
    }
  }
  return located;
}

function resultOf(service: string, v: CommittedVersion, created: boolean): CommitResult {
  return { service, version: v.version, digest: v.digest, layer: v.layer.digest, revision: v.revision ?? null, created };
}
