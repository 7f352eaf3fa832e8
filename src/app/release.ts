import { releaseImage, type ReleaseResult } from '../release/release.js';
import { UsageError } from '../util/errors.js';
import type { AppContext } from './context.js';

export interface ReleaseOptions {
  image: string;
  /** The environment to release to. */
  env: string;
  /** Build id to release; default: the image's newest build. */
  build?: number;
  /** Release a stale build anyway (recorded with the release). */
  allowStale?: boolean;
  /** Go back on purpose: allows regressions and conflicts (recorded). */
  rollback?: boolean;
  /** Release it although it holds a revoked version (recorded). */
  allowRevoked?: boolean;
}

/** What `bake release --json` prints. */
export type { ReleaseResult };

/**
 * Hands a build to an environment through the race gate. Throws RaceRefusedError (exit 3) when
 * the gate refuses (the refusal is recorded; RevokedRefusedError for a revoked version), InputError for an unknown image, build or bad
 * environment name, UsageError when the image or environment is missing.
 */
export async function release(ctx: AppContext, options: ReleaseOptions): Promise<ReleaseResult> {
  if (!options.image) throw new UsageError('bake release takes exactly one image (see bake release --help)');
  if (!options.env) throw new UsageError('bake release: --env ENV is required');
  return releaseImage(ctx.workspace, options.image, options.env, {
    ...(options.build !== undefined && { build: options.build }),
    allowStale: options.allowStale === true,
    rollback: options.rollback === true,
    allowRevoked: options.allowRevoked === true,
    env: ctx.env,
    progress: ctx.progress,
  });
}
