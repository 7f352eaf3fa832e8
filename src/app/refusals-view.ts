import { readManifest } from '../store/manifest-access.js';
import type { RefusalRecord, VersionManifest } from '../manifest/model.js';
import { holdersOf, type HoldingEnvironment } from '../revoke/holders.js';
import { replacementFor, revocationIndex, revokedVersions, type Revocation } from '../revoke/revocations.js';
import type { AppContext } from './context.js';
import { pageOf, type Page, type PageOptions } from './paging.js';

export type RefusalsViewOptions = PageOptions;

/** Who committed a version, and when. */
export interface CommittedBy {
  version: number;
  author: string | null;
  recordedBy: string;
  recordedAt: string;
  revision: string | null;
}

/** A build on either side of a race. */
export interface RacedBuild {
  image: string;
  build: number;
  /** refused: the one turned away; live: what the environment ran then; newer: the first build holding the newer version. */
  role: 'refused' | 'live' | 'newer';
}

/** One refused commit or release, in plain words. */
export interface RefusalEntry {
  action: 'release' | 'commit';
  at: string;
  by: string;
  kind: string;
  service: string;
  /** Release refusals: the version the build holds and the one it raced with (the gate's have/want). */
  have: number | null;
  want: number | null;
  /** The newer version of the two: who committed it and when. */
  newer: CommittedBy | null;
  env: string | null;
  image: string | null;
  build: number | null;
  /** Commit refusals: the revision the caller tried to record from, and the latest version's. */
  candidate: string | null;
  revision: string | null;
  raced: RacedBuild[];
  message: string;
  fix: string;
}

/** A version revoked now, and what still holds it. */
export interface RevokedEntry extends Revocation {
  /** The version to use instead (the newest one above it not revoked), null when none was committed yet. */
  use: number | null;
  environments: HoldingEnvironment[];
  /** How many builds hold it, and the newest of them. */
  builds: number;
  newestBuilds: { image: string; build: number }[];
}

/** What `refusalsView` answers. */
export interface RefusalsViewResult {
  generation: number;
  revoked: RevokedEntry[];
  page: Page<RefusalEntry>;
}

const FIX: Record<string, (r: RefusalRecord, env: string) => string> = {
  stale: (r) => `rebake it with the newer version (bake build ${r.image}), or release it anyway with --allow-stale`,
  regression: (r, env) =>
    `release a newer build, or pass --rollback to go back on purpose (bake release ${r.image} --env ${env} --rollback)`,
  conflict: (r) => `rebake with both changes (bake build ${r.image}) and release that build`,
  dev: (r) => `commit the working trees, then bake build ${r.image}`,
};

/**
 * Every refused commit and release, newest first and paged, each with both versions, who
 * committed the newer one and when, the builds that raced and the fix; and every revoked version
 * with the environments and builds that still hold it. Throws ManifestError for a corrupt manifest.
 */
export async function refusalsView(ctx: AppContext, options: RefusalsViewOptions = {}): Promise<RefusalsViewResult> {
  const manifest = await readManifest(ctx.workspace);
  const all: RefusalEntry[] = [];
  for (const [env, record] of Object.entries(manifest.environments)) {
    for (const r of record.refusals) all.push(releaseRefusal(manifest, env, r));
  }
  for (const [service, history] of Object.entries(manifest.services)) {
    for (const r of history.refusals ?? []) {
      all.push({
        action: 'commit',
        at: r.at,
        by: r.by,
        kind: r.kind,
        service,
        have: null,
        want: null,
        newer: committedBy(manifest, service, r.version),
        env: null,
        image: null,
        build: null,
        candidate: r.candidate,
        revision: r.revision,
        raced: [],
        message: r.message,
        fix: r.fix,
      });
    }
  }
  all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return { generation: manifest.generation, revoked: revokedOf(manifest), page: pageOf(all, options) };
}

function releaseRefusal(manifest: VersionManifest, env: string, r: RefusalRecord): RefusalEntry {
  const newerVersion = Math.max(r.have, r.want);
  const raced: RacedBuild[] = [{ image: r.image, build: r.build, role: 'refused' }];
  const live = [...(manifest.environments[env]?.releases ?? [])].reverse().find((x) => x.image === r.image && x.at <= r.at);
  if ((r.kind === 'regression' || r.kind === 'conflict') && live) raced.push({ image: live.image, build: live.build, role: 'live' });
  if (r.kind === 'stale') {
    const holder = (manifest.builds[r.image] ?? []).find((b) => (b.vector[r.service] ?? 0) >= r.want);
    if (holder) raced.push({ image: holder.image, build: holder.id, role: 'newer' });
  }
  return {
    action: 'release',
    at: r.at,
    by: r.by,
    kind: r.kind,
    service: r.service,
    have: r.have,
    want: r.want,
    newer: newerVersion > 0 ? committedBy(manifest, r.service, newerVersion) : null,
    env,
    image: r.image,
    build: r.build,
    candidate: null,
    revision: null,
    raced,
    message: r.message,
    fix: FIX[r.kind]?.(r, env) ?? 'see the message: it names what to change',
  };
}

function committedBy(manifest: VersionManifest, service: string, version: number): CommittedBy | null {
  const v = manifest.services[service]?.versions[version - 1];
  if (!v) return null;
  return { version, author: v.author ?? null, recordedBy: v.recordedBy, recordedAt: v.recordedAt, revision: v.revision ?? null };
}

function revokedOf(manifest: VersionManifest): RevokedEntry[] {
  const index = revocationIndex(manifest);
  return revokedVersions(index).map((rev) => {
    const holders = holdersOf(manifest, (service, version) => service === rev.service && version === rev.version);
    return {
      ...rev,
      use: replacementFor(manifest, index, rev.service, rev.version)?.version ?? null,
      environments: holders.environments,
      builds: holders.builds.length,
      newestBuilds: holders.builds
        .slice(-5)
        .reverse()
        .map((b) => ({ image: b.image, build: b.build })),
    };
  });
}
