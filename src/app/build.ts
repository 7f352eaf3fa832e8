import type { RecipeConfig, WorkspaceConfig } from '../config/types.js';
import { listRecipes, loadRecipe } from '../config/recipe.js';
import { loadWorkspace } from '../config/workspace.js';
import { HistoryRefusedError } from '../history/history-refusal.js';
import { buildImage, type BuildResult as ImageBuild } from '../image/build-image.js';
import { StaleBuildError } from '../image/stale-build-error.js';
import { viewManifest } from '../store/manifest-access.js';
import { latestVersion } from '../manifest/model.js';
import type { LoadResult } from '../publish/engine-load.js';
import type { PushResult } from '../registry/push.js';
import { UsageError } from '../util/errors.js';
import { commitIn, type ServiceCommit, type ServiceTree } from './commit.js';
import type { AppContext } from './context.js';

export interface BuildOptions {
  /** Images to bake, by recipe name (recipes/<image>.yaml). */
  images?: readonly string[];
  /** Every recipe in recipes/. */
  all?: boolean;
  /**
   * First commit the services these images contain: `true` from their sources; or from these
   * trees, which must cover every one of them (how the service commits a caller's uploads).
   */
  commit?: boolean | readonly ServiceTree[];
  /** Hold each image's lock through resolve → build → record. */
  serialize?: boolean;
  /** Rebake a build found stale at record time at most this many times (default 3). */
  maxRebakes?: number;
  /** Bake from the working trees, uncommitted edits included; the build is marked dev. */
  dev?: boolean;
  /** Keep a build that ends stale (after its rebakes) instead of failing: the override is recorded with it. */
  allowStale?: boolean;
  /** Load each image into the Docker engine. */
  load?: boolean;
  /** Push each image to this REGISTRY/REPO. */
  push?: string;
}

/** One baked image, with what its hand-off did. */
export interface BakedImage extends ImageBuild {
  load?: LoadResult;
  push?: PushResult;
}

/** What `bake build --json` prints: `commits` only with `commit`. */
export interface BuildResult {
  commits?: ServiceCommit[];
  builds: BakedImage[];
}

/**
 * Bakes each image from its recipe and the latest committed versions (after committing their
 * services, with `commit`), then loads or pushes them. Throws HistoryRefusedError (exit 3) before
 * baking when the history gate refused a service it was to commit; StaleBuildError (exit 3, before
 * any hand-off) when a build ends stale after its rebakes, unless `allowStale`; UsageError when no
 * image is named, InputError for an unknown recipe, and what commit, buildImage and the hand-off throw.
 */
export async function build(ctx: AppContext, options: BuildOptions): Promise<BuildResult> {
  const ws = await loadWorkspace(ctx.workspace);
  const recipes = await selectRecipes(ws, options);
  const commits =
    options.commit === undefined || options.commit === false ? undefined : await commitFirst(ctx, ws, recipes, options.commit);
  const buildOptions = {
    serialize: options.serialize === true,
    ...(options.maxRebakes !== undefined && { maxRebakes: options.maxRebakes }),
    ...(options.dev === true && { dev: true }),
    ...(options.allowStale === true && { allowStale: true }),
    env: ctx.env,
    progress: ctx.progress,
  };
  const baked: ImageBuild[] = [];
  for (const recipe of recipes) baked.push(await buildImage(ws, recipe, buildOptions));
  if (options.allowStale !== true) await refuseStale(ws.dir, baked, commits);
  // The hand-off (and with it the engine client) is loaded only when asked for.
  const handOff = options.load === true || options.push !== undefined ? (await import('./hand-off.js')).handOff : undefined;
  const given = { ...(options.load === true && { load: true }), ...(options.push !== undefined && { push: options.push }) };
  const { loads, pushes } = handOff ? await handOff(ctx, { builds: baked, ...given }) : { loads: [], pushes: [] };
  const builds = baked.map((b, i): BakedImage => ({ ...b, ...(loads[i] && { load: loads[i] }), ...(pushes[i] && { push: pushes[i] }) }));
  return commits ? { commits, builds } : { builds };
}

/** The recipes a build names, loaded. Shared with the service client. Throws UsageError, InputError. */
export async function selectRecipes(ws: WorkspaceConfig, options: Pick<BuildOptions, 'images' | 'all'>): Promise<RecipeConfig[]> {
  const names = options.all === true ? await listRecipes(ws) : [...(options.images ?? [])];
  if (names.length === 0) throw new UsageError('bake build: name at least one image, or pass --all (see bake build --help)');
  const recipes: RecipeConfig[] = [];
  for (const name of names) recipes.push(await loadRecipe(ws, name));
  return recipes;
}

/** The services the recipes contain, each once, in recipe order. */
export function servicesOf(recipes: readonly RecipeConfig[]): string[] {
  return [...new Set(recipes.flatMap((r) => r.services))];
}

/** Commits the images' services first; a refusal by the history gate stops the build before it bakes. */
async function commitFirst(
  ctx: AppContext,
  ws: WorkspaceConfig,
  recipes: readonly RecipeConfig[],
  given: true | readonly ServiceTree[],
): Promise<ServiceCommit[]> {
  const wanted = servicesOf(recipes);
  let result;
  if (given === true) result = await commitIn(ctx, ws, { services: wanted });
  else {
    const covered = new Set(given.map((t) => t.service));
    const missing = wanted.filter((s) => !covered.has(s));
    if (missing.length > 0) throw new UsageError(`bake build --commit: no tree given for ${missing.join(', ')}, which the images contain`);
    result = await commitIn(ctx, ws, { trees: given.filter((t) => wanted.includes(t.service)) });
  }
  // Baking without the refused service's change would bake the stale view the gate just refused.
  if (result.refused[0]) throw new HistoryRefusedError(result.refused[0]);
  return result.commits;
}

/** A build that ended stale fails loudly: the first one is thrown, naming who committed the newer version. */
async function refuseStale(workspace: string, baked: readonly ImageBuild[], commits: ServiceCommit[] | undefined): Promise<void> {
  const stale = baked.find((b) => b.stale);
  const first = stale?.supersededBy?.[0];
  if (!stale || !first) return;
  const newer = await viewManifest(workspace, (m) => latestVersion(m, first.service));
  throw new StaleBuildError(
    {
      image: stale.image,
      build: stale.build,
      service: first.service,
      have: first.have,
      want: first.latest,
      ...(newer && { committedBy: newer.author ?? newer.recordedBy, committedAt: newer.recordedAt }),
      supersededBy: stale.supersededBy ?? [],
      rebakes: stale.rebaked.length,
    },
    { builds: baked, ...(commits && { commits }) },
  );
}
