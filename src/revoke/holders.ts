import type { BuildRecord, PushRecord, ReleaseRecord, VersionManifest, VersionVector } from '../manifest/model.js';
import type { Digest } from '../util/digest.js';

/** A service version something holds. */
export interface HeldVersion {
  service: string;
  version: number;
}

/** A build whose vector holds one of the versions asked about. */
export interface HoldingBuild {
  image: string;
  build: number;
  digest: Digest;
  level: BuildRecord['level'];
  builtAt: string;
  builtBy: string;
  holds: HeldVersion[];
}

/** A registry copy of a heavy build that holds one of the versions asked about: the push as recorded, and the build it was of. */
export interface HoldingPush extends PushRecord {
  image: string;
  build: number;
  /** The build's (store) manifest digest; `digest` is the pushed one, which differs when `compressed`. */
  storeDigest: Digest;
  holds: HeldVersion[];
}

/** A live release (what an environment runs now) that holds one of the versions asked about. */
export interface HoldingEnvironment {
  env: string;
  image: string;
  release: number;
  build: number;
  digest: Digest;
  state: ReleaseRecord['state'];
  holds: HeldVersion[];
}

/** Everything that holds the versions asked about. */
export interface Holders {
  /** Environments that run one now, by environment then image. */
  environments: HoldingEnvironment[];
  /** Every build that holds one, by image then build. */
  builds: HoldingBuild[];
  /**
   * Every recorded push of a heavy build that holds one, by image, build, then time. A light
   * image holds only a base and an agent (its versions are the layers it installs at deploy
   * time), so a pushed light image carries none of them.
   */
  pushes: HoldingPush[];
  /**
   * The image digests that carry one, wherever they were loaded or pushed: those of heavy builds,
   * and the pushed manifest digests of their compressed pushes (which differ from the store's).
   */
  digests: Digest[];
}

/** Which versions are asked about: service → version → held? */
export type VersionPredicate = (service: string, version: number) => boolean;

/** The versions of `vector` that `wanted` picks, in vector order. */
export function heldIn(vector: VersionVector, wanted: VersionPredicate): HeldVersion[] {
  const held: HeldVersion[] = [];
  for (const service in vector) {
    const version = vector[service];
    if (version !== undefined && wanted(service, version)) held.push({ service, version });
  }
  return held;
}

/**
 * Every build that holds a wanted version, by image then build id. One pass over the builds with
 * a lookup per vector entry: linear in builds × services (5,000 builds take a few milliseconds).
 */
export function buildsHolding(manifest: VersionManifest, wanted: VersionPredicate): HoldingBuild[] {
  const found: HoldingBuild[] = [];
  for (const image of Object.keys(manifest.builds).sort()) {
    for (const b of manifest.builds[image] ?? []) {
      const holds = heldIn(b.vector, wanted);
      if (holds.length === 0) continue;
      found.push({ image, build: b.id, digest: b.digest, level: b.level, builtAt: b.builtAt, builtBy: b.builtBy, holds });
    }
  }
  return found.sort((a, b) => (a.image === b.image ? a.build - b.build : a.image < b.image ? -1 : 1));
}

/** Every live release that holds a wanted version; with `env`, in that environment only. */
export function environmentsHolding(manifest: VersionManifest, wanted: VersionPredicate, env?: string): HoldingEnvironment[] {
  const found: HoldingEnvironment[] = [];
  for (const name of Object.keys(manifest.environments).sort()) {
    if (env !== undefined && name !== env) continue;
    const record = manifest.environments[name];
    if (!record) continue;
    for (const image of Object.keys(record.live).sort()) {
      const id = record.live[image];
      const release = record.releases.find((r) => r.id === id);
      if (!release) continue;
      const holds = heldIn(release.vector, wanted);
      if (holds.length === 0) continue;
      found.push({ env: name, image, release: release.id, build: release.build, digest: release.digest, state: release.state, holds });
    }
  }
  return found;
}

/** The recorded pushes of the heavy builds among `builds` (as buildsHolding found them), in their order. */
export function pushesHolding(manifest: VersionManifest, builds: readonly HoldingBuild[]): HoldingPush[] {
  const found: HoldingPush[] = [];
  // Build id → record per image, made once: a find per holder would be quadratic in a long history.
  const byId = new Map<string, Map<number, BuildRecord>>();
  for (const held of builds) {
    if (held.level !== 'heavy') continue;
    let records = byId.get(held.image);
    if (!records) byId.set(held.image, (records = new Map((manifest.builds[held.image] ?? []).map((r) => [r.id, r]))));
    for (const p of records.get(held.build)?.pushes ?? [])
      found.push({ ...p, image: held.image, build: held.build, storeDigest: held.digest, holds: held.holds });
  }
  return found;
}

/** Environments, builds, pushes and image digests that hold a wanted version (pure). */
export function holdersOf(manifest: VersionManifest, wanted: VersionPredicate, options: { env?: string } = {}): Holders {
  const builds = buildsHolding(manifest, wanted);
  const pushes = pushesHolding(manifest, builds);
  const heavy = builds.filter((b) => b.level === 'heavy').map((b) => b.digest);
  const digests = [...new Set([...heavy, ...pushes.map((p) => p.digest)])].sort();
  return { environments: environmentsHolding(manifest, wanted, options.env), builds, pushes, digests };
}
