/**
 * The public library surface of bake. The use cases are what the CLI and `bake serve` run: each
 * takes an {@link AppContext} (workspace, environment, progress sink) and typed options, and
 * resolves with the typed result that `bake <command> --json` prints, or throws a classified
 * {@link BakeError} (its `kind`, `exitCode` and `details()` are the CLI's error document).
 *
 * @example
 * ```ts
 * import { build, commit, release, silent } from 'bake';
 * const ctx = { workspace: '/srv/shop', env: process.env, progress: silent };
 * await commit(ctx, { all: true });
 * const { builds: [baked] } = await build(ctx, { images: ['shop'] });
 * if (baked) await release(ctx, { image: 'shop', env: 'staging', build: baked.build }); // RaceRefusedError: exit 3
 * ```
 */

// The application layer: one use case per command.
export type { AppContext } from './app/context.js';
export { runUseCase, type UseCaseName, type UseCaseOptions, type UseCaseResult } from './app/use-cases.js';
/** Records the committed source of services as their next versions (`bake commit`). */
export { commit, type CommitOptions, type CommitResult, type ServiceCommit, type ServiceTree } from './app/commit.js';
/** Bakes images from recipes and the latest committed versions, then loads or pushes them (`bake build`). */
export { build, type BuildOptions, type BuildResult, type BakedImage } from './app/build.js';
/** Hands baked images to the Docker engine and/or a registry, by digest (`--load`, `--push`). */
export { handOff, type HandOffOptions, type HandOffResult } from './app/hand-off.js';
/** Hands a build to an environment through the race gate (`bake release`). */
export { release, type ReleaseOptions, type ReleaseResult } from './app/release.js';
/** Pushes a recorded build to a registry over the distribution API (`bake push`). */
export { push, type PushOptions, type PushResult } from './app/push.js';
/** Removes what no release references, from the store and optionally the engine (`bake gc`). */
export { gc, type GcOptions, type GcResult } from './app/gc.js';
/** Services, builds, staleness and environments (`bake status`). */
export { status, type StatusOptions, type StatusResult } from './app/status.js';
/** The history of commits, builds, releases and refusals (`bake log`). */
export { log, type LogOptions, type LogResult } from './app/log.js';
/** Releases through the race gate and rolls out with a strategy (`bake deploy`). */
export { deploy, type DeployOptions, type DeployResult } from './app/deploy.js';
/** Finishes a canary or A/B deploy (`bake promote`). */
export { promote, type PromoteOptions, type PromoteResult } from './app/promote.js';
/** Returns an environment to its previous release (`bake rollback`). */
export { rollback, type RollbackOptions, type RollbackResult } from './app/rollback.js';
/** Brings an environment up locally: commit, bake, release, roll out (`bake up`). */
export { up, type UpOptions, type UpResult } from './app/up.js';
/** Removes everything an environment started (`bake down`). */
export { down, type DownOptions, type DownResult } from './app/down.js';
/** Runs an environment's test command against it (`bake verify`). */
export { verify, type VerifyOptions, type VerifyResult } from './app/verify.js';
/** Flips a feature for every instance at once, once versions allow (`bake toggle`). */
export { toggle, type ToggleOptions, type ToggleResult } from './app/toggle.js';
/** Upgrades a light environment's services in place, one instance at a time (`bake upgrade`). */
export { upgrade, type UpgradeOptions, type UpgradeResult } from './app/upgrade.js';
/** Withdraws the rollout on probation by hand (`bake abort`). */
export { abort, type AbortOptions, type AbortResult } from './app/abort.js';
/** Does what is due in an environment: a probation that ran out, a rollout past its deadline. */
export { settle, type SettleOptions, type SettleResult } from './app/settle.js';
/** Runs a use case at a bake service instead of here; a failure is a RemoteError like the local one. */
export { callService } from './service/client.js';
export { RemoteError } from './service/remote-error.js';

// Core types and the stages underneath.
export { silent, type ProgressEvent, type ProgressSink } from './util/progress.js';
export type { Digest } from './util/digest.js';
export * from './util/errors.js';
export { commitServices, type CommitOptions as CommitServicesOptions, type DirectoryTree } from './commit/commit-services.js';
export { buildImage, type BuildOptions as BuildImageOptions, type BuildResult as ImageBuild } from './image/build-image.js';
export { planBuild, type BuildPlan, type PlannedService } from './image/plan.js';
export { assembleHeavy, type AssembledImage } from './image/assemble.js';
export { releaseImage, liveRelease, liveReleases, runningVector } from './release/release.js';
export { staleServices } from './manifest/staleness.js';
export { loadWorkspace } from './config/workspace.js';
export { loadRecipe, listRecipes } from './config/recipe.js';
export type { WorkspaceConfig, ServiceConfig, RecipeConfig, BaseConfig } from './config/types.js';
export { openLayoutStore, type LayoutStore } from './oci/layout-store.js';
export { readManifest, updateManifest, viewManifest } from './store/manifest-access.js';
export type { VersionManifest, VersionVector, BuildRecord, CommittedVersion, ReleaseRecord, EnvironmentRecord } from './manifest/model.js';
