import { workspacePaths } from '../config/workspace-paths.js';
import { readManifest } from '../manifest/manifest-file.js';
import type { BuildRecord, ReleaseRecord, VersionVector } from '../manifest/model.js';
import { staleServices } from '../manifest/staleness.js';
import { liveReleases, runningVector } from '../release/release.js';
import type { AppContext } from './context.js';

export interface StatusOptions {
  /** Show only this environment (it appears even when nothing was released to it). */
  env?: string;
}

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
  supersededBy: ReturnType<typeof staleServices>;
  builtAt: string;
  builtBy: string;
}

export interface EnvironmentStatus {
  live: ReleaseRecord[];
  running: VersionVector;
  previous: ReleaseRecord[];
  refusals: number;
}

/** What `bake status --json` prints. */
export interface StatusResult {
  generation: number;
  services: Record<string, ServiceStatus>;
  images: Record<string, BuildStatus[]>;
  environments: Record<string, EnvironmentStatus>;
  interrupted: NonNullable<Awaited<ReturnType<typeof readManifest>>['interrupted']>;
}

/** The latest version of each service, every build and whether it is stale, and what each environment runs. */
export async function status(ctx: AppContext, options: StatusOptions = {}): Promise<StatusResult> {
  const manifest = await readManifest(workspacePaths(ctx.workspace).manifest);
  const services = Object.fromEntries(
    Object.entries(manifest.services).map(([name, h]) => {
      const latest = h.versions.at(-1);
      return [name, { latest: latest?.version ?? 0, digest: latest?.digest ?? null, revision: latest?.revision ?? null, author: latest?.author ?? null }];
    }),
  );
  const images = Object.fromEntries(
    Object.entries(manifest.builds).map(([image, builds]) => [
      image,
      builds.map((b): BuildStatus => {
        const superseded = staleServices(manifest, b.vector);
        return { build: b.id, digest: b.digest, vector: b.vector, status: superseded.length > 0 ? 'stale' : 'current', supersededBy: superseded, builtAt: b.builtAt, builtBy: b.builtBy };
      }),
    ]),
  );
  const environments: Record<string, EnvironmentStatus> = Object.fromEntries(
    Object.entries(manifest.environments)
      .filter(([name]) => options.env === undefined || name === options.env)
      .map(([name, env]) => {
        const live = liveReleases(env);
        const liveIds = new Set(live.map((r) => r.id));
        const previous = env.releases.filter((r) => !liveIds.has(r.id)).reverse();
        return [name, { live, running: runningVector(env), previous, refusals: env.refusals.length }];
      }),
  );
  if (options.env !== undefined && !(options.env in environments)) environments[options.env] = { live: [], running: {}, previous: [], refusals: 0 };
  return { generation: manifest.generation, services, images, environments, interrupted: manifest.interrupted ?? [] };
}
