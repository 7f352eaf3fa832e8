import { historyOf, type HistoryEvent } from '../manifest/history.js';
import { readManifest } from '../store/manifest-access.js';
import type { VersionManifest } from '../manifest/model.js';
import type { AppContext } from './context.js';
import { pageOf, type Page, type PageOptions } from './paging.js';

export interface TimelineOptions extends PageOptions {
  env?: string;
  service?: string;
  /** Only what this actor did (exactly as recorded: `BAKE_ACTOR`, or `token-name (actor)` through the service). */
  actor?: string;
}

/** What `timeline` answers: one page of the history, newest first, and the values each filter can take. */
export interface TimelineResult {
  generation: number;
  page: Page<HistoryEvent>;
  facets: { envs: string[]; services: string[]; actors: string[] };
}

/**
 * The log as a timeline: every commit, refused commit, build, release, refusal and environment
 * change, newest first, filtered by environment, service and actor, one page at a time.
 * Throws ManifestError for a corrupt manifest.
 */
export async function timeline(ctx: AppContext, options: TimelineOptions = {}): Promise<TimelineResult> {
  const manifest = await readManifest(ctx.workspace);
  const events = historyOf(manifest, {
    ...(options.service !== undefined && { service: options.service }),
    ...(options.env !== undefined && { env: options.env }),
  });
  const chosen = options.actor === undefined ? events : events.filter((e) => e.by === options.actor);
  return {
    generation: manifest.generation,
    page: pageOf(chosen.reverse(), options),
    facets: {
      envs: Object.keys(manifest.environments).sort(),
      services: Object.keys(manifest.services).sort(),
      actors: actorsOf(manifest),
    },
  };
}

/** Everyone the manifest records as having done something. */
function actorsOf(manifest: VersionManifest): string[] {
  const actors = new Set<string>();
  for (const history of Object.values(manifest.services)) {
    for (const v of history.versions) actors.add(v.recordedBy);
    for (const r of history.refusals ?? []) actors.add(r.by);
  }
  for (const list of Object.values(manifest.builds)) for (const b of list) actors.add(b.builtBy);
  for (const env of Object.values(manifest.environments)) {
    for (const r of env.releases) actors.add(r.by);
    for (const r of env.refusals) actors.add(r.by);
    for (const c of env.changes ?? []) actors.add(c.by);
  }
  return [...actors].sort();
}
