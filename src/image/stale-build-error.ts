import type { Superseded } from '../manifest/staleness.js';
import { BakeError, ExitCode } from '../util/errors.js';

/** A build that was still stale after its rebakes, and the newer version that made it so. */
export interface StaleBuildDetails {
  image: string;
  build: number;
  /** The first service with a newer committed version, the version the build holds, and the latest. */
  service: string;
  have: number;
  want: number;
  /** Who committed the newer version, and when it was recorded. */
  committedBy?: string;
  committedAt?: string;
  /** Every service that was newer. */
  supersededBy: Superseded[];
  /** How many times it was rebaked before giving up. */
  rebakes: number;
}

/**
 * A build that ended stale: other commits kept landing while it baked, so even after its rebakes
 * it does not hold the latest version of every service. Exit 3, kind `stale`, like the release
 * gate's stale refusal; the build is recorded (as stale) all the same. `--allow-stale` keeps it.
 */
export class StaleBuildError extends BakeError {
  override name = 'StaleBuildError';
  override readonly kind: string = 'stale';
  override readonly exitCode: number = ExitCode.refused;
  readonly stale: StaleBuildDetails;
  /** What else the command did (the builds it baked, the commits it made), for the --json document. */
  readonly partial: Record<string, unknown>;

  constructor(stale: StaleBuildDetails, partial: Record<string, unknown> = {}) {
    const newer = stale.supersededBy.map((s) => `${s.service} v${s.have} < v${s.latest}`).join(', ');
    const who = stale.committedBy ? ` by ${stale.committedBy}${stale.committedAt ? ` at ${stale.committedAt}` : ''}` : '';
    super(
      `${stale.image}:${stale.build} is stale after ${stale.rebakes} rebake(s): it holds ${stale.service} v${stale.have}, but ` +
        `${stale.service} v${stale.want} was committed${who} while it baked (${newer}). Fix: run bake build ${stale.image} again, ` +
        `raise --max-rebakes, or keep it with --allow-stale (recorded with the build)`,
    );
    this.stale = stale;
    this.partial = partial;
  }

  override details(): Record<string, unknown> {
    return { ...this.stale, ...this.partial };
  }
}
