import type { RaceDetails } from '../util/errors.js';
import { latestVersion, type BuildRecord, type CommittedVersion, type VersionManifest, type VersionVector } from '../manifest/model.js';
import { staleServices } from '../manifest/staleness.js';
import { compareVectors } from '../manifest/vector.js';
import { revokedIn, revokedRefusal, type RevokedHolding, type RevokedRefusedError } from '../revoke/revoked-refusal.js';
import { revocationIndex } from '../revoke/revocations.js';
import type { IncompatibleRefusedError } from '../compat/incompatible-error.js';
import { compatibilityRefusal, type RolloutShape } from '../compat/release-compatibility.js';

export interface GateInput {
  manifest: VersionManifest;
  build: BuildRecord;
  env: string;
  /** What the environment runs now, service by service (empty when nothing is live). */
  live?: VersionVector;
  allowStale: boolean;
  rollback: boolean;
  /** Whether the environment accepts --dev builds (from uncommitted working trees). */
  acceptsDev?: boolean;
  /** --allow-revoked: release it although it holds a revoked version (recorded). */
  allowRevoked?: boolean;
  /** How the release will roll out: the windows the compatibility check judges (default: a hand-off). */
  rollout?: RolloutShape;
}

export interface GateVerdict {
  /** Present when the release must be refused. */
  refusal?: { race: RaceDetails; message: string };
  /** Checks that failed but were overridden, recorded with the release. */
  overridden: RaceDetails[];
  /** Present when the build holds a revoked version and --allow-revoked was not given (exit 3, kind revoked). */
  revoked?: RevokedRefusedError;
  /** Revoked versions released anyway with --allow-revoked, recorded with the release. */
  allowedRevoked?: RevokedHolding[];
  /** Present when some running consumer would have a requirement unmet, or the code does not fit the schema (exit 3, kind incompatible). */
  incompatible?: IncompatibleRefusedError;
}

/**
 * The deployment-race gate, as a pure function of the manifest. A release is refused when
 * (a) the build is stale: a service in it has a newer committed version;
 * (b) it moves some service backwards relative to what the environment runs (regression);
 * (c) its vector is incomparable with the live one (conflict: the two images of a race).
 * `allowStale` overrides (a); `rollback` overrides all three, since going back is its point.
 * Before those, a build that holds a revoked version is refused (`revoked`); only `allowRevoked`
 * overrides that, never --rollback: going back must not quietly go back to a known-bad version.
 * After them, (d) every mix of versions the rollout creates must meet every declared requirement,
 * and the code must fit the environment's schema (`incompatible`, see compatibilityRefusal): no
 * flag overrides that.
 */
export function checkRelease(input: GateInput): GateVerdict {
  const { manifest, build, env } = input;
  const overridden: RaceDetails[] = [];
  const base = { image: build.image, build: build.id, env };

  if (build.dev && !input.acceptsDev) {
    const race: RaceDetails = { kind: 'dev', ...base, service: Object.keys(build.vector)[0] ?? '', have: 0, want: 0 };
    return {
      refusal: {
        race,
        message: `refusing to release ${build.image}:${build.id} to ${env}: it is a --dev build from uncommitted working trees; only environments with dev: true accept those. Commit, then bake build ${build.image}`,
      },
      overridden,
    };
  }

  // --dev builds carry working trees, not the committed versions their numbers name.
  const revoked = build.dev ? [] : revokedIn(manifest, revocationIndex(manifest), build.vector);
  if (revoked.length > 0 && !input.allowRevoked) {
    const action = input.rollback ? 'rollback' : 'release';
    return { revoked: revokedRefusal({ action, image: build.image, build: build.id, env }, revoked), overridden };
  }

  const stale = staleServices(manifest, build.vector)[0];
  if (stale) {
    const newer = latestVersion(manifest, stale.service);
    const race: RaceDetails = { kind: 'stale', ...base, service: stale.service, have: stale.have, want: stale.latest, ...who(newer) };
    if (!input.allowStale && !input.rollback) {
      return {
        refusal: {
          race,
          message:
            `refusing to release ${build.image}:${build.id} to ${env}: it is stale — it holds ${stale.service} v${stale.have}, ` +
            `but ${stale.service} v${stale.latest} was committed${byAt(newer)}. Rebake it (bake build ${build.image}) ` +
            `or release it anyway with --allow-stale`,
        },
        overridden,
      };
    }
    overridden.push(race);
  }

  if (input.live) {
    const { order, forward, backward } = compareVectors(input.live, build.vector);
    const first = backward[0];
    if (first && (order === 'older' || order === 'incomparable')) {
      const newer = manifest.services[first.service]?.versions[first.from - 1];
      const kind = order === 'older' ? 'regression' : 'conflict';
      const race: RaceDetails = {
        kind,
        ...base,
        service: first.service,
        have: first.from,
        want: first.to,
        ...who(newer),
        changes: [...forward, ...backward],
      };
      if (!input.rollback) {
        const message =
          kind === 'regression'
            ? `refusing to release ${build.image}:${build.id} to ${env}: it would move ${first.service} back from v${first.from} ` +
              `(committed${byAt(newer)}) to v${first.to}. Release a newer build, or pass --rollback to go back on purpose`
            : `refusing to release ${build.image}:${build.id} to ${env}: it conflicts with what ${env} runs — it moves ` +
              `${forward.map((c) => `${c.service} v${c.from}→v${c.to}`).join(', ')} forward but ${first.service} back from v${first.from} ` +
              `(committed${byAt(newer)}) to v${first.to}. These are the two images of a deployment race: rebake with both changes (bake build ${build.image})`;
        return { refusal: { race, message }, overridden };
      }
      overridden.push(race);
    }
  }
  // Last: no override makes versions that cannot work together work (src/compat).
  const incompatible = compatibilityRefusal({
    manifest,
    build,
    env,
    rollback: input.rollback,
    ...(input.rollout && { rollout: input.rollout }),
  });
  if (incompatible) return { incompatible, overridden };
  return { overridden, ...(revoked.length > 0 && { allowedRevoked: revoked }) };
}

function who(version: CommittedVersion | undefined): { committedBy?: string; committedAt?: string } {
  if (!version) return {};
  return { committedBy: version.author ?? version.recordedBy, committedAt: version.recordedAt };
}

function byAt(version: CommittedVersion | undefined): string {
  if (!version) return '';
  return ` by ${version.author ?? version.recordedBy} at ${version.recordedAt}`;
}
