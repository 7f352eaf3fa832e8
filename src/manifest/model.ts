import type { Digest } from '../util/digest.js';

/**
 * The version manifest: the single source of truth for what was committed, built and released.
 * Stored as JSON at `<workspace>/.bake/manifest.json`. Every write increments `generation`.
 */
export const MANIFEST_SCHEMA = 1;

export interface VersionManifest {
  schema: typeof MANIFEST_SCHEMA;
  /** Incremented by exactly one on every write. */
  generation: number;
  services: Record<string, ServiceHistory>;
  builds: Record<string, BuildRecord[]>;
  environments: Record<string, EnvironmentRecord>;
  /** Service requests (bake serve) that a crash interrupted: reported as failed, never current. */
  interrupted?: {
    /** The request's id (bake serve's), so a record is made once however many replicas notice. */
    id?: string;
    /** Which replica ran it (`host pid N`), when a shared store's request ledger knew. */
    replica?: string;
    /** The request as a person would have typed it (`commit s1`). */
    argv: string[];
    /** The typed request and who sent it, when the marker was readable. */
    request?: { command: string; options: unknown; actor: string };
    startedAt: string;
    detectedAt: string;
    status: 'failed';
  }[];
}

export interface ServiceHistory {
  /** Ascending by version; version n is at index n-1. */
  versions: CommittedVersion[];
  /** Commits the history gate refused (behind, diverged, moved): kept so `bake log` shows them. */
  refusals?: CommitRefusalRecord[];
  /** Revocations and unrevocations of its versions (bake revoke/unrevoke), append-only: a version's last entry decides. */
  revocations?: RevocationRecord[];
}

/** One revocation (or its reversal) of a committed version: who, when and why. Never edited, only appended to. */
export interface RevocationRecord {
  version: number;
  /** true: revoked from here on; false: an unrevoke. */
  revoked: boolean;
  /** Why (required to revoke; optional to unrevoke). */
  reason: string | null;
  at: string;
  by: string;
  /** --and-older: the version named on the command line, when this one was revoked as its ancestor. */
  via?: number;
  /** The manifest generation it was recorded at. */
  generation: number;
}

/** A new version of a service that was not recorded, because the caller's history does not follow the latest one. */
export interface CommitRefusalRecord {
  at: string;
  by: string;
  kind: 'behind' | 'diverged' | 'moved';
  /** The latest version when it was refused, and the revision it came from (null: a directory). */
  version: number;
  revision: string | null;
  /** The revision the caller tried to record from (null: a directory). */
  candidate: string | null;
  fix: string;
  message: string;
}

/** One immutable committed version of a service. */
export interface CommittedVersion {
  version: number;
  /** Content digest of the tree (paths, modes, bytes, links, install path); equal content ⇒ same version. */
  digest: Digest;
  /** The layer that installs this version, stored in the image store. */
  layer: { digest: Digest; size: number; mediaType: string };
  install: string;
  source: 'git' | 'directory';
  /** Last commit that touched the service's source, if it came from git. */
  revision?: string;
  /** Author of `revision`. */
  author?: string;
  /** Commit time of the source (RFC 3339), or the bake clock for plain directories. */
  created: string;
  /** When and by whom this version was recorded. */
  recordedAt: string;
  recordedBy: string;
  /** The manifest generation this version was recorded at: orders it against builds and releases. */
  generation: number;
  /** Interfaces it provides (name → major version), declared with the code and recorded at commit time (src/compat). */
  provides?: Record<string, number>;
  /** Interfaces it calls (name → semver range of majors it works with). */
  requires?: Record<string, string>;
  /** The database schema its code needs, and the migrations it knows. */
  schema?: SchemaDeclaration;
}

/** A migration: `expand` adds only (safe while older code runs); `contract` drops what older code may still use. */
export type MigrationKind = 'expand' | 'contract';

/**
 * What a version's code needs of its database. Migrations are numbered 1, 2, 3… and run in order.
 * The code needs every expand migration up to max(reads, writes) before it starts, and works with a
 * contract migration K only when K <= min(reads, writes).
 */
export interface SchemaDeclaration {
  reads: number;
  writes: number;
  /** Migration number → kind, as far as this version knows them. */
  migrations: Record<string, MigrationKind>;
}

/** One run of a migration command in an environment, recorded with the release it ran for. */
export interface MigrationRun {
  service: string;
  migration: number;
  kind: MigrationKind;
  /** The version whose declaration it ran from. */
  version: number;
  status: 'applied' | 'failed';
  at: string;
  by: string;
  ms: number;
  /** The end of the command's output, when it failed. */
  output?: string;
}

/** Service name → version number contained in an image. */
export type VersionVector = Record<string, number>;

export type BuildStatus = 'current' | 'stale';

export interface BuildRecord {
  /** Per-image sequence number: the `<build>` of the `<image>:<build>` ref. */
  id: number;
  image: string;
  /** OCI manifest digest. */
  digest: Digest;
  /** Image config digest (what Docker calls the image ID). */
  config: Digest;
  level: 'heavy' | 'light';
  vector: VersionVector;
  /** Layer digest of each service version, for light images to install at deploy time. */
  serviceLayers: Record<string, Digest>;
  base: string;
  created: string;
  builtAt: string;
  builtBy: string;
  status: BuildStatus;
  /** Services that had a newer committed version than this build holds, when it was found stale. */
  supersededBy?: { service: string; have: number; latest: number }[];
  reproducible: boolean;
  dev?: boolean;
  /** The manifest generation this build was recorded at. */
  generation: number;
  /** When garbage collection removed its image from the store; it cannot be released after that. */
  collected?: string;
  /** `build --allow-stale`: the staleness it ended with, recorded instead of failing the build. */
  overrides?: { kind: 'stale'; service: string; have: number; want: number; flag: '--allow-stale'; at: string; by: string }[];
  /** Every successful push of this build to a registry (bake push, build --push), in order. */
  pushes?: PushRecord[];
}

/** One successful push of a build to a registry: where, which manifest digest, when and by whom. */
export interface PushRecord {
  /** REGISTRY/REPO as pushed to, e.g. 127.0.0.1:5000/shop. */
  repository: string;
  tag: string;
  /** `registry/repo@sha256:…` of the pushed manifest: what a deploy should name. */
  reference: string;
  /** The pushed manifest's digest: the build's own, unless `compressed` (then its gzip twin's). */
  digest: Digest;
  compressed: boolean;
  at: string;
  by: string;
  /** The manifest generation it was recorded at. */
  generation: number;
}

/** What each release went through; the deploy step moves it along. */
export type ReleaseState = 'released' | 'installing' | 'probation' | 'committed' | 'rolled-back';

/** A hand-off to the deploy step: a digest and the versions it pins, never a tag. */
export interface ReleaseRecord {
  /** Per-environment sequence number. */
  id: number;
  env: string;
  image: string;
  build: number;
  digest: Digest;
  vector: VersionVector;
  level: 'heavy' | 'light';
  /** Pinned service-layer digests (what a light image installs at deploy time). */
  serviceLayers: Record<string, Digest>;
  at: string;
  by: string;
  /** Gate checks that failed and were overridden (--allow-stale, --rollback, --allow-revoked), kept for the record. */
  overrides: { kind: string; service: string; have: number; want: number; flag: '--allow-stale' | '--rollback' | '--allow-revoked' }[];
  state: ReleaseState;
  /** The manifest generation this release was recorded at. */
  generation: number;
  /** The strategy that rolled it out (absent for plain hand-offs). */
  strategy?: string;
  /** Blue/green: until when (RFC 3339) the old fleet is kept, idle, for an instant flip-back. */
  probationUntil?: string;
  /** Where a canary or A/B rollout is, so it can be explained, resumed or aborted. */
  rollout?: RolloutProgress;
  /** Why the rollout stopped (an analysis rule, an abort by hand, the progress deadline, an interruption). */
  stopped?: RolloutStop;
  /** `deploy --retry`: the release this one starts again. */
  retryOf?: number;
  /** `bake upgrade`: the release whose running instances were upgraded in place. */
  upgradeOf?: number;
  /** Schema migrations run for this release (expand before its instances started, contract after the old ones went). */
  migrations?: MigrationRun[];
}

/** One canary step's traffic figures, as the router counted them. */
export interface ReleaseFigures {
  requests: number;
  errors: number;
  /** errors / requests, 0 when there were no requests. */
  errorRate: number;
  p50: number | null;
  p99: number | null;
}

/** A rollout on its way (canary steps, A/B, blue/green preview). */
export interface RolloutProgress {
  /** Index of the step now in force (into the environment's canary steps). */
  step: number;
  percent: number;
  /** Last time the rollout moved forward (the progress deadline counts from it). */
  progressAt: string;
  /** Present while it waits: for promote (manual), after too little traffic, after an interruption, for a preview. */
  paused?: { reason: 'manual' | 'inconclusive' | 'interrupted' | 'preview'; message: string; at: string };
  /** The last judgement: canary against stable. */
  analysis?: { verdict: 'pass' | 'fail' | 'inconclusive'; canary: ReleaseFigures; stable: ReleaseFigures; message: string; at: string };
  /** Blue/green preview: router port of the preview listener, by service. */
  preview?: Record<string, number>;
}

/** Why a rollout stopped. */
export interface RolloutStop {
  reason: 'analysis' | 'abort' | 'deadline' | 'interrupted' | 'failed';
  /** The rule that fired, e.g. "error rate 20% > 5%". */
  rule?: string;
  figures?: { canary: ReleaseFigures; stable: ReleaseFigures };
  message: string;
  at: string;
  by: string;
}

/** A change of an environment's state (every one is in `bake log`). */
export interface EnvironmentChange {
  at: string;
  by: string;
  kind: 'state' | 'promote' | 'withdraw' | 'abort' | 'toggle' | 'probation-end' | 'step' | 'upgrade' | 'migrate';
  /** The release it concerns, if any. */
  release?: number;
  /** For `state`: the state entered. */
  state?: ReleaseState;
  message: string;
  detail?: Record<string, unknown>;
}

/** A release the gate refused: kept so an operator can see what raced with what. */
export interface RefusalRecord {
  at: string;
  by: string;
  image: string;
  build: number;
  kind: string;
  service: string;
  have: number;
  want: number;
  message: string;
}

export interface EnvironmentRecord {
  /** Image name → id of its live release. An environment runs several images. */
  live: Record<string, number>;
  releases: ReleaseRecord[];
  refusals: RefusalRecord[];
  /** Every state change, in order: states entered, promotes, withdrawals, toggles, probation ends. */
  changes?: EnvironmentChange[];
}

/** A new, empty manifest. */
export function emptyManifest(): VersionManifest {
  return { schema: MANIFEST_SCHEMA, generation: 0, services: {}, builds: {}, environments: {} };
}

/** The latest committed version of a service, if any. */
export function latestVersion(manifest: VersionManifest, service: string): CommittedVersion | undefined {
  return manifest.services[service]?.versions.at(-1);
}
