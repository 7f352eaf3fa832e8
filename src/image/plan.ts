import { InputError } from '../util/errors.js';
import type { RecipeConfig, ServiceConfig, WorkspaceConfig } from '../config/types.js';
import { latestVersion, type CommittedVersion, type VersionManifest, type VersionVector } from '../manifest/model.js';
import { bakeClock } from '../util/clock.js';

/** One service as it goes into an image: its pinned version and how it runs. */
export interface PlannedService {
  name: string;
  version: CommittedVersion;
  config: ServiceConfig;
}

/** What a build will produce, computed without side effects: print it, test it, then assemble it. */
export interface BuildPlan {
  image: string;
  recipe: RecipeConfig;
  level: RecipeConfig['bake'];
  vector: VersionVector;
  services: PlannedService[];
  /** Seconds since the epoch for `created` and the image's own layers. */
  created: number;
  /** Revision of the newest service version, for the revision annotation. */
  revision?: string;
}

/**
 * Pins each of the recipe's services to its latest committed version in `manifest` (or to
 * `pins` where given; `overrides` replace versions outright, for --dev builds). Throws InputError naming every service that has no committed version.
 */
export function planBuild(
  ws: WorkspaceConfig,
  recipe: RecipeConfig,
  manifest: VersionManifest,
  options: { env?: NodeJS.ProcessEnv; pins?: VersionVector; overrides?: Record<string, CommittedVersion> } = {},
): BuildPlan {
  const problems = [];
  const services: PlannedService[] = [];
  for (const name of recipe.services) {
    const config = ws.services.get(name);
    const pinned = options.pins?.[name];
    const version =
      options.overrides?.[name] ?? (pinned !== undefined ? manifest.services[name]?.versions[pinned - 1] : latestVersion(manifest, name));
    if (!config || !version) {
      problems.push({
        file: recipe.file,
        field: 'services',
        message:
          pinned !== undefined ? `service ${name} has no committed version ${pinned}` : `service ${name} has no committed version yet`,
        fix: `run: bake commit ${name}`,
      });
      continue;
    }
    services.push({ name, version, config });
  }
  if (problems.length > 0) throw new InputError(problems);
  // Plain code-unit comparison: localeCompare would load ICU collation (5 ms) for ISO timestamps.
  const newest = services.reduce<PlannedService | undefined>((best, s) => {
    if (!best) return s;
    const [a, b] = [s.version.created, best.version.created];
    if (a !== b) return a > b ? s : best;
    return (s.version.revision ?? '') < (best.version.revision ?? '') ? s : best;
  }, undefined);
  const created = bakeClock(newest ? Date.parse(newest.version.created) / 1000 : undefined, options.env);
  return {
    image: recipe.image,
    recipe,
    level: recipe.bake,
    vector: Object.fromEntries(services.map((s) => [s.name, s.version.version])),
    services,
    created,
    ...(newest?.version.revision !== undefined && { revision: newest.version.revision }),
  };
}
