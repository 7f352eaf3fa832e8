import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe } from '../config/recipe.js';
import type { EnvironmentConfig, WorkspaceConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import { workspacePaths } from '../config/workspace-paths.js';
import type { BlobSource } from '../deploy/blob-source.js';
import type { DeployTarget } from '../deploy/deploy-plan.js';
import { healthTimeoutMs } from '../deploy/health.js';
import type { InstanceProvider } from '../deploy/instance-provider.js';
import { ensureRouter } from '../deploy/router-process.js';
import { createEngine, type Engine } from '../engine/docker-engine.js';
import { withFileLock } from '../lock/file-lock.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { viewManifest } from '../store/manifest-access.js';
import { lastRecords } from '../store/lazy-list.js';
import { releaseById } from '../manifest/lookups.js';
import type { ReleaseRecord } from '../manifest/model.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { loadIntoEngine } from '../publish/engine-load.js';
import type { RouterClient } from '../router/router-client.js';
import { InputError, UsageError } from '../util/errors.js';
import { parseImageId } from '../util/image-id.js';
import type { AppContext } from './context.js';

/**
 * The wiring between the use cases and the deploy step: it turns a release record into a
 * DeployTarget (digests, versions, ports: plain data), loads the image into the engine, and starts
 * the router. The deploy modules receive only those values.
 */
export interface EnvironmentRuntime {
  ws: WorkspaceConfig;
  env: EnvironmentConfig;
  engine: Engine;
  router: RouterClient;
  listeners: Record<string, number>;
  blobs: BlobSource;
  /** Where instances come from when not containers on `engine`: a swarm's tasks (src/app/swarm-runtime.ts). */
  instances?: InstanceProvider;
  /** How long new instances may take to become healthy (BAKE_HEALTH_TIMEOUT_MS). */
  healthTimeoutMs: number;
  /** Loads the release's image into the engine (by digest) and describes it for the deploy step. */
  targetOf(release: Pick<ReleaseRecord, 'id' | 'image' | 'build' | 'digest' | 'vector' | 'level' | 'serviceLayers'>): Promise<DeployTarget>;
}

/** The environment named `name` (or the only one), or an InputError listing those declared. */
export async function environmentConfig(
  ctx: AppContext,
  name: string | undefined,
): Promise<{ ws: WorkspaceConfig; env: EnvironmentConfig }> {
  const ws = await loadWorkspace(ctx.workspace);
  const names = [...ws.environments.keys()];
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  const env = chosen === undefined ? undefined : ws.environments.get(chosen);
  if (!env) {
    throw new InputError([
      {
        file: 'bake.yaml',
        field: `environments${chosen ? `.${chosen}` : ''}`,
        message: chosen ? `no environment named ${chosen}` : 'name an environment',
        fix:
          names.length > 0
            ? `use one of: ${names.join(', ')}`
            : 'declare one under environments: in bake.yaml (image, replicas, strategy, ports)',
      },
    ]);
  }
  return { ws, env };
}

/**
 * Connects to the engine (EngineUnavailableError when none answers) and starts the router if needed.
 * The local engine only: on a swarm environment (deploy, up, down and status have their own path
 * there) it throws UsageError rather than touch the wrong engine.
 */
export async function openRuntime(ctx: AppContext, ws: WorkspaceConfig, env: EnvironmentConfig): Promise<EnvironmentRuntime> {
  requireLocalEngine(env, 'this command');
  const recipe = await loadRecipe(ws, env.image);
  const services = recipe.services.map((name) => {
    const s = ws.services.get(name);
    return { name, ...(s?.port !== undefined && { port: s.port }), ...(s?.health !== undefined && { health: s.health }) };
  });
  const ports: Record<string, number> = {};
  for (const s of services) if (s.port !== undefined) ports[s.name] = env.ports[s.name] ?? 0;
  const engine = await createEngine(ctx.env);
  await engine.ping();
  const router = await ensureRouter(ws.dir, env.name, ports, bakeEntry());
  const store = await openLayoutStore(workspacePaths(ws.dir).store);
  const blobs: BlobSource = { open: (d) => store.openRead(d), size: async (d) => (await store.readBytes(d)).length };
  const publish = Object.fromEntries(services.flatMap((s) => (s.port === undefined ? [] : [[s.port, 0] as const])));
  return {
    ws,
    env,
    engine,
    router: router.client,
    listeners: router.info.listeners,
    blobs,
    healthTimeoutMs: healthTimeoutMs(ctx.env),
    async targetOf(release) {
      const loaded = await loadIntoEngine(engine, store, release.digest, release.image, release.build);
      return {
        scope: workspaceScope(ws.dir),
        env: env.name,
        image: release.image,
        release: release.id,
        digest: release.digest,
        imageId: parseImageId(loaded.imageId),
        level: release.level,
        vector: release.vector,
        serviceLayers: release.serviceLayers,
        services,
        publish,
      };
    },
  };
}

/**
 * Throws UsageError (exit 2) for an environment on a swarm, for the commands that work on the
 * local engine only so far: called before anything is recorded, so a refusal changes nothing.
 */
export function requireLocalEngine(env: EnvironmentConfig, command: string): void {
  if (typeof env.engine !== 'object') return;
  throw new UsageError(
    `environment ${env.name} runs on a swarm, where bake deploy (rolling, recreate), up, down, status, verify and toggle work so far; ${command} does not yet`,
  );
}

/** A short stable id of a workspace directory, carried as a label by everything deploy starts. */
export function workspaceScope(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 12);
}

/** Deploys to one environment never overlap: this lock is held for the whole change. */
export function withEnvironmentLock<T>(
  ctx: AppContext,
  env: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number } = {},
): Promise<T> {
  return withFileLock(
    join(workspacePaths(ctx.workspace).locks, `env-${env}`),
    {
      purpose: `deploy to ${env}`,
      timeoutMs: options.timeoutMs ?? 600_000,
      ...lockTuning(ctx.env),
      onWait: (h) =>
        ctx.progress({ kind: 'wait', message: `waiting for the deploy lock of ${env}${h ? ` held by PID ${h.pid} (${h.purpose})` : ''}` }),
    },
    fn,
  );
}

/** The live release of an environment's image, and the one before it. */
export async function liveAndPrevious(
  workspace: string,
  env: string,
  image: string,
): Promise<{ live?: ReleaseRecord; previous?: ReleaseRecord }> {
  return viewManifest(workspace, (m) => {
    const record = m.environments[env];
    if (!record) return {};
    const liveId = record.live[image];
    const live = liveId === undefined ? undefined : releaseById(record.releases, liveId);
    const isPrevious = (r: ReleaseRecord) =>
      r.image === image && r.id !== liveId && r.state !== 'rolled-back' && (live === undefined || r.id < live.id);
    // Almost always among the newest releases; the whole history is read only when it is not.
    const previous = [...lastRecords(record.releases, 100)].reverse().find(isPrevious) ?? [...record.releases].reverse().find(isPrevious);
    return { ...(live && { live }), ...(previous && { previous }) };
  });
}

/** Router URLs by service, as deploy results report them. */
export function routerUrls(listeners: Record<string, number>): Record<string, string> {
  return Object.fromEntries(Object.entries(listeners).map(([s, p]) => [s, `http://127.0.0.1:${p}`]));
}

/**
 * The bake CLI script the background router runs (`bake router`): this package's bin/bake.js,
 * found from this module whether it runs bundled (dist/bake.cjs) or not (src/app, dist/app), so a
 * library caller's own script is never mistaken for it; else this process's script.
 */
export function bakeEntry(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const bin = join(dir, 'bin', 'bake.js');
    if (existsSync(bin) && isBakePackage(join(dir, 'package.json'))) return bin;
    dir = dirname(dir);
  }
  return process.argv[1] ?? 'bake';
}

function isBakePackage(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'bake';
  } catch {
    return false;
  }
}
