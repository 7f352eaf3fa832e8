import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_SAYS } from '../config/names.js';
import { InputError, RaceRefusedError, type BakeError } from '../util/errors.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { waitingMessage } from '../lock/file-lock.js';
import { updateManifest } from '../store/manifest-access.js';
import { buildById, newest, nextId, releaseById } from '../manifest/lookups.js';
import type { BuildRecord, EnvironmentRecord, ReleaseRecord, ReleaseState, VersionManifest, VersionVector } from '../manifest/model.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { currentActor, workspacePaths } from '../config/workspace-paths.js';
import type { Digest } from '../util/digest.js';
import { checkRelease } from './gate.js';
import type { RolloutShape } from '../compat/release-compatibility.js';

export interface ReleaseOptions {
  /** Build id to release; default: the image's newest build. */
  build?: number;
  allowStale?: boolean;
  rollback?: boolean;
  /** Release it although it holds a revoked version (recorded with the release). */
  allowRevoked?: boolean;
  /** The environment accepts --dev builds. */
  acceptsDev?: boolean;
  /** `installing` when a deploy follows; plain hand-offs are `released`. */
  initialState?: ReleaseState;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
  /**
   * Light images only: bind these committed versions instead of the build's (an in-place upgrade).
   * The gate checks the release with this vector, exactly as if a build held it.
   */
  bind?: { vector: VersionVector; serviceLayers: Record<string, Digest> };
  /** Recorded with the release: how it is rolled out, and what it retries or upgrades. */
  extra?: Pick<ReleaseRecord, 'strategy' | 'retryOf' | 'upgradeOf'>;
  /** How the release will roll out (strategy, replicas, batch): the windows the compatibility check judges. Default: a hand-off. */
  rollout?: RolloutShape;
}

export interface ReleaseResult {
  env: string;
  image: string;
  build: number;
  release: number;
  digest: Digest;
  vector: Record<string, number>;
  serviceLayers: Record<string, Digest>;
  overrides: ReleaseRecord['overrides'];
  /** True when this build was already live; nothing was recorded. */
  unchanged: boolean;
  level: 'heavy' | 'light';
  config: Digest;
}

type Outcome = { ok: ReleaseResult } | { refused: BakeError };

/**
 * Hands a build to an environment through the race gate, under the manifest lock so the check
 * and the record see the same manifest. A refusal is recorded too, then thrown as
 * RaceRefusedError (exit 3), RevokedRefusedError (exit 3) for a revoked version, or
 * IncompatibleRefusedError (exit 3) for versions that cannot work together. Throws
 * InputError for an unknown image, build or bad env name.
 */
export async function releaseImage(
  workspace: string,
  image: string,
  envName: string,
  options: ReleaseOptions = {},
): Promise<ReleaseResult> {
  if (!ENVIRONMENT_NAME.test(envName)) {
    throw new InputError([
      {
        file: 'command line',
        field: '--env',
        message: `invalid environment name ${JSON.stringify(envName)}`,
        fix: `use ${ENVIRONMENT_NAME_SAYS}`,
      },
    ]);
  }
  const paths = workspacePaths(workspace);
  const progress = options.progress ?? silent;
  const by = currentActor(options.env);
  const outcome = await updateManifest<Outcome>(
    paths.dir,
    {
      purpose: `release ${image} to ${envName}`,
      ...lockTuning(options.env),
      onWait: (holder) => progress({ kind: 'wait', message: waitingMessage(holder) }),
    },
    async (manifest) => {
      const found = findBuild(manifest, image, options.build);
      if (options.bind && found.level !== 'light') {
        throw new InputError([
          {
            file: 'command line',
            field: 'image',
            message: `${image} is baked heavy: its versions cannot be bound at deploy time`,
            fix: 'deploy a new build instead',
          },
        ]);
      }
      const build: BuildRecord = options.bind
        ? { ...found, vector: options.bind.vector, serviceLayers: options.bind.serviceLayers }
        : found;
      const env = (manifest.environments[envName] ??= { live: {}, releases: [], refusals: [] });
      const live = liveRelease(env, image);
      if (live && sameRelease(live, build) && !options.rollback) {
        return { result: { ok: toResult(live, true, build.config) }, write: false };
      }
      const verdict = checkRelease({
        manifest,
        build,
        env: envName,
        live: runningVector(env),
        allowStale: options.allowStale === true,
        rollback: options.rollback === true,
        acceptsDev: options.acceptsDev === true,
        allowRevoked: options.allowRevoked === true,
        ...(options.rollout && { rollout: options.rollout }),
      });
      const at = new Date().toISOString();
      if (verdict.incompatible) {
        const { service, have, want, message } = verdict.incompatible;
        env.refusals.push({ at, by, image, build: build.id, kind: 'incompatible', service, have, want, message });
        return { result: { refused: verdict.incompatible }, write: true };
      }
      if (verdict.revoked) {
        const { service, have, want } = verdict.revoked.refusal;
        const message = verdict.revoked.message;
        env.refusals.push({ at, by, image, build: build.id, kind: 'revoked', service, have, want: want ?? 0, message });
        return { result: { refused: verdict.revoked }, write: true };
      }
      if (verdict.refusal) {
        const { race, message } = verdict.refusal;
        env.refusals.push({
          at,
          by,
          image,
          build: build.id,
          kind: race.kind,
          service: race.service,
          have: race.have,
          want: race.want,
          message,
        });
        return { result: { refused: new RaceRefusedError(message, race) }, write: true };
      }
      const record: ReleaseRecord = {
        id: nextId(env.releases),
        env: envName,
        image,
        build: build.id,
        digest: build.digest,
        vector: build.vector,
        level: build.level,
        serviceLayers: build.serviceLayers,
        at,
        by,
        overrides: [
          ...verdict.overridden.map((o) => ({
            kind: o.kind,
            service: o.service,
            have: o.have,
            want: o.want,
            flag: o.kind === 'stale' && options.allowStale ? ('--allow-stale' as const) : ('--rollback' as const),
          })),
          ...(verdict.allowedRevoked ?? []).map((r) => ({
            kind: 'revoked',
            service: r.service,
            have: r.version,
            want: r.use ?? 0,
            flag: '--allow-revoked' as const,
          })),
        ],
        state: options.initialState ?? 'released',
        generation: manifest.generation + 1,
        ...options.extra,
      };
      env.releases.push(record);
      env.live[image] = record.id;
      return { result: { ok: toResult(record, false, build.config) }, write: true };
    },
  );
  if ('refused' in outcome) throw outcome.refused;
  return outcome.ok;
}

/**
 * Whether a build is what a release already runs. A heavy image's digest pins every version; every
 * light build of a recipe has the same image digest (base and agent only), so a light release is
 * its digest plus its pinned service layers.
 */
export function sameRelease(
  live: Pick<ReleaseRecord, 'digest' | 'level' | 'serviceLayers'>,
  build: Pick<BuildRecord, 'digest' | 'level' | 'serviceLayers'>,
): boolean {
  if (live.digest !== build.digest) return false;
  if (live.level !== 'light' && build.level !== 'light') return true;
  const a = Object.entries(live.serviceLayers ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
  const b = Object.entries(build.serviceLayers ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The release of `image` an environment runs now, if any. */
export function liveRelease(env: EnvironmentRecord | undefined, image: string): ReleaseRecord | undefined {
  const id = env?.live[image];
  return id === undefined || !env ? undefined : releaseById(env.releases, id);
}

/** Every live release of an environment. */
export function liveReleases(env: EnvironmentRecord | undefined): ReleaseRecord[] {
  if (!env) return [];
  return Object.keys(env.live)
    .sort()
    .map((image) => liveRelease(env, image))
    .filter((r) => r !== undefined);
}

/**
 * What an environment runs, service by service: the highest version any live image holds. A
 * release is compared against this, so a service shared by two images cannot go back through
 * either of them.
 */
export function runningVector(env: EnvironmentRecord): Record<string, number> {
  const vector: Record<string, number> = {};
  for (const release of liveReleases(env)) {
    for (const [service, version] of Object.entries(release.vector)) vector[service] = Math.max(vector[service] ?? 0, version);
  }
  return vector;
}

function findBuild(manifest: VersionManifest, image: string, id: number | undefined): BuildRecord {
  const builds = manifest.builds[image] ?? [];
  if (builds.length === 0) {
    const known = Object.keys(manifest.builds);
    throw new InputError([
      {
        file: 'command line',
        field: 'image',
        message: `no builds of ${image}`,
        fix: `run: bake build ${image}${known.length > 0 ? ` (built images: ${known.join(', ')})` : ''}`,
      },
    ]);
  }
  const build = id === undefined ? newest(builds) : buildById(builds, id);
  if (!build) {
    throw new InputError([
      {
        file: 'command line',
        field: '--build',
        message: `${image} has no build ${id}`,
        fix: `use one of: ${builds.map((b) => b.id).join(', ')}`,
      },
    ]);
  }
  if (build.collected) {
    throw new InputError([
      {
        file: 'command line',
        field: '--build',
        message: `${image}:${build.id} was garbage-collected at ${build.collected}`,
        fix: `rebake it (bake build ${image}) and release the new build`,
      },
    ]);
  }
  return build;
}

function toResult(r: ReleaseRecord, unchanged: boolean, config: Digest): ReleaseResult {
  return {
    level: r.level,
    config,
    env: r.env,
    image: r.image,
    build: r.build,
    release: r.id,
    digest: r.digest,
    vector: r.vector,
    serviceLayers: r.serviceLayers,
    overrides: r.overrides,
    unchanged,
  };
}
