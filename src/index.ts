/** The public library surface of bake. The CLI is a thin layer over these. */
export { commitServices, type CommitOptions, type CommitResult } from './commit/commit-services.js';
export { staleServices } from './manifest/staleness.js';
export { buildImage, type BuildOptions, type BuildResult } from './image/build-image.js';
export { planBuild, type BuildPlan, type PlannedService } from './image/plan.js';
export { assembleHeavy, type AssembledImage } from './image/assemble.js';
export { loadWorkspace } from './config/workspace.js';
export { loadRecipe, listRecipes } from './config/recipe.js';
export type { WorkspaceConfig, ServiceConfig, RecipeConfig, BaseConfig } from './config/types.js';
export { openLayoutStore, type LayoutStore } from './oci/layout-store.js';
export { readManifest, updateManifest } from './manifest/manifest-file.js';
export type { VersionManifest, VersionVector, BuildRecord, CommittedVersion } from './manifest/model.js';
export * from './util/errors.js';
export { main } from './cli/main.js';
