import { mkdirSync } from 'node:fs';
import type { ServiceConfig, WorkspaceConfig } from '../config/types.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { waitingMessage } from '../lock/file-lock.js';
import { writeLayer, type Layer } from '../layer/layer.js';
import { updateManifest, viewManifest } from '../store/manifest-access.js';
import { latestVersion, type CommittedVersion, type VersionManifest } from '../manifest/model.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { snapshotService, treeDigest, type Snapshot } from '../source/snapshot.js';
import type { Digest } from '../util/digest.js';
import type { TreeEntry } from '../tree/tree.js';
import { openGitRepo, type CommittedTree, type GitRepo } from '../source/git-source.js';
import { sourcePathInRepo } from '../source/source-location.js';
import { mapLimit } from '../util/map-limit.js';
import { contentDigest } from '../tree/tree.js';
import { isoSeconds } from '../util/clock.js';
import { currentActor, workspacePaths } from '../config/workspace-paths.js';
import { proveCheckout, type CheckoutCandidate } from '../history/checkout-proof.js';
import type { HistoryProof } from '../history/follows.js';
import { HistoryRefusedError, type CommitRefusal } from '../history/history-refusal.js';
import { recordCandidates, type Candidate } from './record-versions.js';
import type { Declarations } from '../compat/declarations.js';
import { declarationSalt, declarationsOf } from '../compat/read-declarations.js';

/** A directory that stands in for a service's source: `--from DIR`, or a tree uploaded to the service. */
export interface DirectoryTree {
  /** Absolute path of the directory holding the files, or the files themselves (an upload held in memory). */
  files: string | readonly TreeEntry[];
  /** Where the files came from (a CI job uploading a committed tree knows this), recorded with the version. */
  origin?: { revision?: string; author?: string; time?: number };
  /**
   * The history gate's precondition: `--from DIR --after N` ({after: N}), or what a remote caller
   * proved in its own checkout ({after, ancestry}: then `origin.revision` is the candidate).
   * Absent: the version is ordered by arrival.
   */
  proof?: HistoryProof;
}

export interface CommitOptions {
  /** Per service name: snapshot this directory instead of the service's committed source. */
  trees?: ReadonlyMap<string, DirectoryTree>;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
  /**
   * Internal, for the benchmark only: `false` skips proving the ancestry of git sources, so they
   * are ordered by arrival as before the history gate. Default true.
   */
  checkAncestry?: boolean;
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

/** What a commit did: the versions recorded (or found unchanged), and the services the history gate refused. */
export interface CommitOutcome {
  commits: CommitResult[];
  refused: CommitRefusal[];
}

/** How often a proof that went stale under the lock (`moved`) is made again before it is reported. */
const MAX_ATTEMPTS = 5;

/**
 * Records a new committed version of each service whose content changed since its latest
 * version, in the order git history gives: a git source is recorded only when the checkout
 * contains the revision of the service's latest version (proved here, before the lock, and checked
 * again under it); the others are refused (behind, diverged) and the refusal is recorded. The layer
 * is stored (content-addressed) before the manifest names it, so a crash in between leaves at
 * worst an unreferenced blob. Throws GitError, UnsafeSourceError, BuildCommandError,
 * ManifestError, LockError.
 */
export async function recordCommits(
  ws: WorkspaceConfig,
  services: readonly ServiceConfig[],
  options: CommitOptions = {},
): Promise<CommitOutcome> {
  const paths = workspacePaths(ws.dir);
  const progress = options.progress ?? silent;
  // Synchronous: it exists but for the first commit, and a thread-pool round trip costs more than the call.
  mkdirSync(paths.work, { recursive: true });
  const store = await openLayoutStore(paths.store);
  const sources = await locateSources(
    ws,
    services.filter((s) => !options.trees?.has(s.name)),
  );
  // Only the latest version of each service is read (not the history): what the proofs are made against.
  let known = await viewManifest(paths.dir, (m) => latestOf(m, services));

  // An unchanged git tree is recognised from its id alone: no file is read. Judged once per
  // service (a monorepo's 200 digests, asked three times each, were 600 hashes).
  const unchanged = new Set(
    services
      .filter((service) => {
        const tree = sources.get(service.name)?.tree;
        return tree !== undefined && service.build === undefined && known[service.name]?.digest === treeDigest(service, tree);
      })
      .map((s) => s.name),
  );
  const isUnchanged = (service: ServiceConfig) => unchanged.has(service.name);
  // Each tree as soon as git has listed it: the first services pack while the others are listed.
  const committed = readCommitted(
    services.filter((s) => sources.has(s.name) && !isUnchanged(s)),
    sources,
  );

  // Services are independent: snapshot and pack them concurrently (git and disk overlap)...
  const big = limiter(BIG_AT_ONCE);
  const prepared = await mapLimit(services, PACK_AT_ONCE, async (service): Promise<Prepared> => {
    const before = known[service.name];
    if (before && isUnchanged(service)) return { service, unchanged: before };
    const tree = await committed.get(service.name);
    return isBig(service, tree) ? big(() => prepare(service, tree)) : prepare(service, tree);
  });

  async function prepare(service: ServiceConfig, tree: CommittedTree | undefined): Promise<Prepared> {
    const before = known[service.name];
    progress({ kind: 'step', message: `snapshot ${service.name}` });
    const directory = options.trees?.get(service.name);
    const snapshot = await snapshotService(service, {
      workDir: paths.work,
      ...(tree && { committed: tree }),
      ...(directory && { from: directory.files }),
      ...(directory?.origin !== undefined && { origin: directory.origin }),
      ...(options.env !== undefined && { env: options.env }),
    });
    const digest =
      snapshot.treeDigest ??
      (await contentDigest(snapshot.entries, `${service.install}\0${service.build ?? ''}${declarationSalt(service)}`));
    if (before?.digest === digest) return { service, unchanged: before };
    progress({ kind: 'step', message: `pack ${service.name}` });
    const layer = await writeLayer(store, snapshot.entries, {
      prefix: service.install,
      mtime: snapshot.time,
      bodies: { dir: paths.layerBodies, ...(before && { previous: before.layer.digest as Digest }) },
    });
    const repo = sources.get(service.name)?.repo;
    const checkout = tree && repo ? { top: repo.top, head: tree.head, revision: tree.revision } : undefined;
    // What the version declares (provides, requires, schema) is recorded with it (src/compat).
    const declared = await declarationsOf(service, snapshot.entries);
    return {
      service,
      candidate: candidateOf(service, snapshot, digest, layer, declared),
      ...(checkout && repo && { checkout, repo }),
      ...(directory && { directory }),
    };
  }

  // The manifest is about to name the new layers: their names on disk first (see LayoutStore).
  await store.sync();
  const results = new Map<string, CommitResult>();
  const refused: CommitRefusal[] = [];
  for (const p of prepared) if (p.unchanged) results.set(p.service.name, resultOf(p.service.name, p.unchanged, false));
  let pending = prepared.filter((p) => p.candidate);
  // ...then record them all in one write; a proof that the lock found outdated (someone recorded
  // the service meanwhile) is made again against the new latest version, and only that service retried.
  for (let attempt = 1; pending.length > 0; attempt++) {
    const candidates = await mapLimit(pending, 4, (p) => gated(p, known, options.checkAncestry !== false));
    const names = candidates.map((c) => c.service);
    const { recorded, latest } = await updateManifest(
      paths.dir,
      {
        purpose: `commit ${names.join(', ')}`,
        ...lockTuning(options.env),
        onWait: (holder) => progress({ kind: 'wait', message: waitingMessage(holder) }),
      },
      async (m) => {
        const { results: recorded, write } = recordCandidates(m, candidates, {
          actor: currentActor(options.env),
          lastAttempt: attempt >= MAX_ATTEMPTS,
        });
        // What a proof made again is made against: the candidates' latest versions, not every service's.
        const proved = services.filter((s) => names.includes(s.name));
        return { result: { recorded, latest: latestOf(m, proved) }, write };
      },
    );
    for (const r of recorded) {
      if (r.outcome === 'refused') refused.push(r.refusal);
      else if (r.outcome !== 'prove-again') results.set(r.service, resultOf(r.service, r.version, r.outcome === 'recorded'));
    }
    const again = new Set(recorded.filter((r) => r.outcome === 'prove-again').map((r) => r.service));
    if (again.size > 0) progress({ kind: 'step', message: `${[...again].join(', ')} moved meanwhile: proving again` });
    pending = pending.filter((p) => again.has(p.service.name));
    known = { ...known, ...latest };
  }
  const commits = services.flatMap((s) => results.get(s.name) ?? []);
  for (const r of commits) progress({ kind: 'done', message: `${r.service} v${r.version}${r.created ? '' : ' (unchanged)'}` });
  for (const r of refused) progress({ kind: 'done', message: `${r.service} refused: ${r.kind}` });
  return { commits, refused };
}

/**
 * {@link recordCommits} for callers that want all or an error: the versions recorded, or the first
 * refusal thrown as a HistoryRefusedError (exit 3) after the others were recorded.
 */
export async function commitServices(
  ws: WorkspaceConfig,
  services: readonly ServiceConfig[],
  options: CommitOptions = {},
): Promise<CommitResult[]> {
  const { commits, refused } = await recordCommits(ws, services, options);
  if (refused[0]) throw new HistoryRefusedError(refused[0]);
  return commits;
}

/**
 * How many services are packed at once, and how many of them big. A small service's pack is
 * mostly waiting (git's answers, each blob's fdatasync), so a monorepo of small ones packs eight
 * at a time; a big one's is streaming work on both cores, and four at most keep memory bounded
 * (each holds up to ~1 MiB per body read ahead). Directory sources and builds count as big.
 */
const PACK_AT_ONCE = 8;
const BIG_AT_ONCE = 4;

function isBig(service: ServiceConfig, tree: CommittedTree | undefined): boolean {
  return service.build !== undefined || tree === undefined || tree.entries.reduce((sum, e) => sum + e.size, 0) > SMALL_SERVICE_BYTES;
}

const SMALL_SERVICE_BYTES = 4 * 1024 * 1024;

/** Runs at most `limit` of the calls given to it at once; the others wait their turn, in order. */
function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** A service after snapshot and pack, before it is recorded. */
interface Prepared {
  service: ServiceConfig;
  unchanged?: CommittedVersion;
  candidate?: Omit<Candidate, 'gate'>;
  /** Where a git source's files come from: what its proof is made in. */
  checkout?: CheckoutCandidate;
  /** The repository of `checkout`, which knows some of HEAD's ancestors already. */
  repo?: GitRepo;
  directory?: DirectoryTree;
}

function candidateOf(
  service: ServiceConfig,
  snapshot: Snapshot,
  digest: Digest,
  layer: Layer,
  declared: Declarations,
): Omit<Candidate, 'gate'> {
  return {
    service: service.name,
    version: {
      digest,
      layer: { digest: layer.descriptor.digest, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType },
      install: service.install,
      source: snapshot.source,
      ...(snapshot.revision !== undefined && { revision: snapshot.revision }),
      ...(snapshot.author !== undefined && { author: snapshot.author }),
      created: isoSeconds(snapshot.time),
      ...declared,
    },
  };
}

/**
 * The gate's input for one candidate, proved against `known` (the latest versions as last read): a git
 * source is proved in its checkout; a directory carries the proof it was given (an upload's, or
 * `--after`'s), or none and is ordered by arrival.
 */
async function gated(p: Prepared, known: LatestVersions, checkAncestry: boolean): Promise<Candidate> {
  const candidate = p.candidate as Omit<Candidate, 'gate'>;
  if (p.checkout && checkAncestry) {
    const latest = known[p.service.name];
    // HEAD contains the recorded revision when reading the service's history met it: it follows
    // (what proveCheckout would answer), proved without another git process. Otherwise git is asked.
    const proof: HistoryProof =
      latest?.revision && p.repo?.knownAncestor(latest.revision)
        ? { after: latest.version, ancestry: 'descends' }
        : await proveCheckout(latest, p.checkout);
    return { ...candidate, gate: { proof, candidate: p.checkout.revision, provedBy: 'here' } };
  }
  const given = p.directory?.proof;
  if (!given) return candidate;
  // With an ancestry, a remote caller proved its checkout (and proves again on `moved`); without, it is `--after`.
  if (given.ancestry !== undefined)
    return { ...candidate, gate: { proof: given, candidate: p.directory?.origin?.revision ?? null, provedBy: 'caller' } };
  return { ...candidate, gate: { proof: given, candidate: null, provedBy: 'user' } };
}

/** The committed trees of services by service name, each settling once read; read together per repository. */
function readCommitted(services: readonly ServiceConfig[], sources: Map<string, GitSource>): Map<string, Promise<CommittedTree>> {
  const byRepo = new Map<GitRepo, ServiceConfig[]>();
  for (const service of services) {
    const source = sources.get(service.name);
    if (source) byRepo.set(source.repo, [...(byRepo.get(source.repo) ?? []), service]);
  }
  const result = new Map<string, Promise<CommittedTree>>();
  for (const [repo, members] of byRepo) {
    const dirs = new Map(members.map((s) => [sources.get(s.name)?.path ?? '', `service ${s.name}`]));
    const trees = repo.streamTrees([...dirs].map(([path, label]) => ({ path, label })));
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
  // The tree ids come with HEAD in one git call: a nothing-changed commit spawns git once.
  const main = await openGitRepo(ws.dir, 'workspace', { trees: services.map((s) => s.sourceAsWritten) });
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

/** The latest committed version of each service, as last read. */
type LatestVersions = Record<string, CommittedVersion | undefined>;

function latestOf(m: VersionManifest, services: readonly ServiceConfig[]): LatestVersions {
  return Object.fromEntries(services.map((s) => [s.name, latestVersion(m, s.name)]));
}
