import { recordedSide } from '../history/follows.js';
import type { RecordedSide } from '../history/history-refusal.js';
import { readManifest } from '../store/manifest-access.js';
import type { CommitRefusalRecord, CommittedVersion, VersionManifest } from '../manifest/model.js';
import { runningVector } from '../release/release.js';
import { InputError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { pageOf, type Page, type PageOptions } from './paging.js';

export interface VersionsViewOptions extends PageOptions {
  /** Page through this service's versions (newest first); without it, only the summaries. */
  service?: string;
}

/** One service at a glance. */
export interface ServiceSummary {
  service: string;
  latest: number;
  versions: number;
  /** Commits the history gate refused (behind, diverged…). */
  refusedAttempts: number;
  /** What each environment runs of this service: environment → version. */
  live: Record<string, number>;
  revision: string | null;
  author: string | null;
  recordedAt: string | null;
}

/** One committed version (its recorded side, `created` being the commit time of the source), with where it runs. */
export interface VersionEntry extends RecordedSide {
  digest: string;
  source: CommittedVersion['source'];
  layerSize: number;
  /** Environments whose live releases run exactly this version. */
  liveIn: string[];
}

/** A refused commit, drawn where it branched off: after `version`, the latest when it was refused. */
export type RefusedAttempt = CommitRefusalRecord;

/** What `versionsView` answers. */
export interface VersionsViewResult {
  generation: number;
  services: ServiceSummary[];
  /** With `service`: one page of its versions, newest first, and the refused attempts that branched off one of them. */
  page?: Page<VersionEntry> & { service: string; attempts: RefusedAttempt[] };
}

/**
 * Every service's latest version and where it runs, and with `service` one page of its versions
 * newest first (revision, author, times, the environments each is live in) with the refused
 * attempts that branched off them. Throws InputError for an unknown service, ManifestError for a corrupt manifest.
 */
export async function versionsView(ctx: AppContext, options: VersionsViewOptions = {}): Promise<VersionsViewResult> {
  const manifest = await readManifest(ctx.workspace);
  const live = liveVersions(manifest);
  const services = Object.entries(manifest.services)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([service, history]): ServiceSummary => {
      const latest = history.versions.at(-1);
      return {
        service,
        latest: latest?.version ?? 0,
        versions: history.versions.length,
        refusedAttempts: history.refusals?.length ?? 0,
        live: live.get(service) ?? {},
        revision: latest?.revision ?? null,
        author: latest?.author ?? null,
        recordedAt: latest?.recordedAt ?? null,
      };
    });
  if (options.service === undefined) return { generation: manifest.generation, services };
  const history = manifest.services[options.service];
  if (!history) {
    throw new InputError([
      { file: 'request', field: 'service', message: `no service named ${options.service}`, fix: 'pick one from the list' },
    ]);
  }
  const where = live.get(options.service) ?? {};
  const newestFirst = [...history.versions].reverse();
  const page = pageOf(newestFirst, options);
  const items = page.items.map(
    (v): VersionEntry => ({
      ...recordedSide(v),
      digest: v.digest,
      source: v.source,
      layerSize: v.layer.size,
      liveIn: Object.keys(where).filter((env) => where[env] === v.version),
    }),
  );
  const lowest = items.at(-1)?.version ?? 0;
  const highest = page.offset === 0 ? Number.POSITIVE_INFINITY : (items[0]?.version ?? 0);
  const attempts = (history.refusals ?? []).filter((r) => r.version >= lowest && r.version <= highest).reverse();
  return { generation: manifest.generation, services, page: { ...page, items, service: options.service, attempts } };
}

/** Service → environment → the version its live releases run. */
function liveVersions(manifest: VersionManifest): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const [env, record] of Object.entries(manifest.environments)) {
    for (const [service, version] of Object.entries(runningVector(record))) {
      const entry = out.get(service) ?? {};
      entry[env] = version;
      out.set(service, entry);
    }
  }
  return out;
}
