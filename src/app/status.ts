import { viewManifest } from '../store/manifest-access.js';
import { lastRecords } from '../store/lazy-list.js';
import { releaseById } from '../manifest/lookups.js';
import type { BuildRecord, PushRecord, ReleaseFigures, ReleaseRecord, VersionManifest, VersionVector } from '../manifest/model.js';
import type { Superseded } from '../manifest/staleness.js';
import { liveReleases, runningVector } from '../release/release.js';
import { revokedStatus, type RevokedStatus } from '../revoke/revoked-status.js';
import type { AppContext } from './context.js';
import type { TaskPlacement } from '../deploy/swarm/task-instances.js';

export interface StatusOptions {
  /** Show only this environment (it appears even when nothing was released to it). */
  env?: string;
  /** Every build and release, not only the newest STATUS_WINDOW of each image and environment. */
  all?: boolean;
}

/** Builds per image and earlier releases per environment that status shows without `all`: its cost stays flat with history. */
export const STATUS_WINDOW = 50;

export interface ServiceStatus {
  latest: number;
  digest: string | null;
  revision: string | null;
  author: string | null;
}

export interface BuildStatus {
  build: number;
  digest: BuildRecord['digest'];
  vector: VersionVector;
  status: 'stale' | 'current';
  supersededBy: Superseded[];
  builtAt: string;
  builtBy: string;
  /** Every successful push of it (registry reference, pushed digest, when, by whom), oldest first. */
  pushes: PushRecord[];
}

export interface EnvironmentStatus {
  live: ReleaseRecord[];
  running: VersionVector;
  previous: ReleaseRecord[];
  refusals: number;
  /** With --env and its router running: every release that has instances, with its share of traffic and its figures. */
  serving?: ServingRelease[];
  /** Why the last rollout stopped (the rule that fired, the figures, the time), if one did. */
  lastStop?: { release: number } & NonNullable<ReleaseRecord['stopped']>;
  /** What is pending and how to finish it: a probation, a paused or interrupted rollout, a preview. */
  pending?: string[];
  /** With --env on a swarm: every task, the node it runs on and its zone (the spread label's value). */
  placement?: TaskPlacement[];
  /** With --env on a swarm whose manager did not answer: why there is no placement. */
  placementError?: string;
}

/** One release serving in an environment, as its router sees it. */
export interface ServingRelease {
  release: number;
  build: number | null;
  state: ReleaseRecord['state'] | null;
  instances: number;
  /** Percentage of unpinned traffic it gets now. */
  share: number;
  figures: ReleaseFigures;
}

/** What `bake status --json` prints. */
export interface StatusResult {
  generation: number;
  services: Record<string, ServiceStatus>;
  images: Record<string, BuildStatus[]>;
  environments: Record<string, EnvironmentStatus>;
  interrupted: NonNullable<VersionManifest['interrupted']>;
  /** Every revoked version, and every environment (live now), build, push and image digest that holds one. */
  revoked: RevokedStatus;
  /** How many builds each image has, and releases each environment: more than listed when the window cut them. */
  totals: { builds: Record<string, number>; releases: Record<string, number> };
}

/**
 * The latest version of each service, every build and whether it is stale, what each environment
 * runs, and every revoked version with what holds it.
 */
export async function status(ctx: AppContext, options: StatusOptions = {}): Promise<StatusResult> {
  const { result, recent } = await viewManifest(ctx.workspace, (manifest) => statusOf(manifest, options));
  const name = options.env;
  const status = name === undefined ? undefined : result.environments[name];
  if (name !== undefined && status) {
    const serving = await servingOf(ctx.workspace, name, recent[name] ?? []);
    if (serving) status.serving = serving;
    // Loaded only with --env, like the router's view: plain status never reads bake.yaml or asks a swarm.
    const swarm = await (await import('./swarm-rollout.js')).statusPlacement(ctx.workspace, name);
    if (swarm) Object.assign(status, swarm);
  }
  return result;
}

/** Everything status says that the manifest holds, and each environment's newest releases (for the router's view). */
function statusOf(manifest: VersionManifest, options: StatusOptions): { result: StatusResult; recent: Record<string, ReleaseRecord[]> } {
  const services = Object.fromEntries(
    Object.entries(manifest.services).map(([name, h]) => {
      const latest = h.versions.at(-1);
      return [
        name,
        {
          latest: latest?.version ?? 0,
          digest: latest?.digest ?? null,
          revision: latest?.revision ?? null,
          author: latest?.author ?? null,
        },
      ];
    }),
  );
  // Each listed build is judged against the latest versions read once above, not looked up again
  // per service per build (what staleServices does: 500 lookups for a window of 50 builds).
  const latestOf = new Map(Object.entries(services).map(([name, s]) => [name, s.latest]));
  const supersededIn = (vector: VersionVector): Superseded[] =>
    Object.entries(vector).flatMap(([service, have]) => {
      const latest = latestOf.get(service) || have;
      return latest > have ? [{ service, have, latest }] : [];
    });
  const images = Object.fromEntries(
    Object.entries(manifest.builds).map(([image, builds]) => [
      image,
      (options.all ? builds : lastRecords(builds, STATUS_WINDOW)).map((b): BuildStatus => {
        const superseded = supersededIn(b.vector);
        return {
          build: b.id,
          digest: b.digest,
          vector: b.vector,
          status: superseded.length > 0 ? 'stale' : 'current',
          supersededBy: superseded,
          builtAt: b.builtAt,
          builtBy: b.builtBy,
          pushes: b.pushes ?? [],
        };
      }),
    ]),
  );
  const environments: Record<string, EnvironmentStatus> = Object.fromEntries(
    Object.entries(manifest.environments)
      .filter(([name]) => options.env === undefined || name === options.env)
      .map(([name, env]) => {
        const live = liveReleases(env);
        const liveIds = new Set(live.map((r) => r.id));
        const recent = options.all ? env.releases : lastRecords(env.releases, STATUS_WINDOW);
        const previous = recent.filter((r) => !liveIds.has(r.id)).reverse();
        return [name, { live, running: runningVector(env), previous, refusals: env.refusals.length }];
      }),
  );
  if (options.env !== undefined && !(options.env in environments))
    environments[options.env] = { live: [], running: {}, previous: [], refusals: 0 };
  const recentOf: Record<string, ReleaseRecord[]> = {};
  for (const [name, status] of Object.entries(environments)) {
    const record = manifest.environments[name];
    const recent = options.all ? (record?.releases ?? []) : lastRecords(record?.releases ?? [], STATUS_WINDOW);
    recentOf[name] = recent;
    const stopped = [...recent].reverse().find((r) => r.stopped);
    if (stopped?.stopped) status.lastStop = { release: stopped.id, ...stopped.stopped };
    const pending = pendingOf(name, status.live);
    if (pending.length > 0) status.pending = pending;
  }
  const revoked = revokedStatus(manifest, { ...(options.env !== undefined && { env: options.env }) });
  const totals = {
    builds: Object.fromEntries(Object.entries(manifest.builds).map(([image, builds]) => [image, builds.length])),
    releases: Object.fromEntries(Object.entries(manifest.environments).map(([env, record]) => [env, record.releases.length])),
  };
  return {
    result: { generation: manifest.generation, services, images, environments, interrupted: manifest.interrupted ?? [], revoked, totals },
    recent: recentOf,
  };
}

/** What waits in an environment, said the way an operator acts on it. */
function pendingOf(env: string, live: readonly ReleaseRecord[]): string[] {
  const lines: string[] = [];
  for (const r of live) {
    if (r.state === 'installing')
      lines.push(`release ${r.id} is installing: a deploy is running, or was killed; bake rollback --env ${env} finishes it`);
    if (r.state !== 'probation') continue;
    const paused = r.rollout?.paused;
    if (r.strategy === 'blue-green' && r.probationUntil && !paused) {
      lines.push(
        `release ${r.id} is on probation until ${r.probationUntil}: the old fleet is up with no traffic; bake rollback --env ${env} switches back at once, bake promote --env ${env} retires it now`,
      );
    } else if (paused) {
      const next =
        paused.reason === 'preview'
          ? `bake promote --env ${env} switches traffic, bake abort --env ${env} drops it`
          : paused.reason === 'manual'
            ? `bake promote --env ${env} or bake rollback --env ${env}`
            : `bake deploy --resume --env ${env} continues, bake promote --env ${env} finishes, bake rollback or bake abort withdraws`;
      lines.push(
        `release ${r.id} (${r.strategy ?? 'rollout'}, ${r.rollout?.percent ?? 0}%) is paused since ${paused.at} (${paused.reason}): ${paused.message}; ${next}`,
      );
    } else {
      lines.push(
        `release ${r.id} (${r.strategy ?? 'rollout'}) is on probation at ${r.rollout?.percent ?? 0}%, step ${(r.rollout?.step ?? 0) + 1}`,
      );
    }
  }
  return lines;
}

/** Every release with instances at the environment's router, its share and figures; undefined when no router runs. */
async function servingOf(workspace: string, env: string, releases: readonly ReleaseRecord[]): Promise<ServingRelease[] | undefined> {
  // Loaded only with --env: plain status never pays for the router client.
  const { routerServing } = await import('./router-serving.js');
  const view = await routerServing(workspace, env);
  return view?.serving.map(({ release, instances, share, figures }) => {
    const record = releaseById(releases, release);
    return { release, build: record?.build ?? null, state: record?.state ?? null, instances, share, figures };
  });
}
