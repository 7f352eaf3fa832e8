import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { loadRecipe } from '../config/recipe.js';
import type { EnvironmentConfig, WorkspaceConfig } from '../config/types.js';
import { loadWorkspace } from '../config/workspace.js';
import type { DeployTarget } from '../deploy/deploy-plan.js';
import type { BlobSource } from '../deploy/blob-source.js';
import { ensureRouter } from '../deploy/router-process.js';
import { createEngine, type Engine } from '../engine/docker-engine.js';
import { InputError } from '../util/errors.js';
import { withFileLock } from '../lock/file-lock.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { readManifest } from '../manifest/manifest-file.js';
import type { ReleaseRecord } from '../manifest/model.js';
import { openLayoutStore } from '../oci/layout-store.js';
import { loadIntoEngine } from '../publish/engine-load.js';
import type { RouterClient } from '../router/router-client.js';
import type { Digest } from '../util/digest.js';
import { workspacePaths } from '../config/workspace-paths.js';
import type { CommandContext } from './command.js';

/**
 * The wiring between the CLI and the deploy step: it turns a release record into a DeployTarget
 * (digests, versions, ports: plain data), loads the image into the engine, and starts the router.
 * The deploy modules receive only those values.
 */
export interface EnvironmentRuntime {
  ws: WorkspaceConfig;
  env: EnvironmentConfig;
  engine: Engine;
  router: RouterClient;
  listeners: Record<string, number>;
  blobs: BlobSource;
  targetOf(release: Pick<ReleaseRecord, 'id' | 'image' | 'build' | 'digest' | 'vector' | 'level' | 'serviceLayers'>): Promise<DeployTarget>;
}

/** The environment named `name` (or the only one), or an InputError listing those declared. */
export async function environmentConfig(ctx: CommandContext, name: string | undefined): Promise<{ ws: WorkspaceConfig; env: EnvironmentConfig }> {
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
        fix: names.length > 0 ? `use one of: ${names.join(', ')}` : 'declare one under environments: in bake.yaml (image, replicas, strategy, ports)',
      },
    ]);
  }
  return { ws, env };
}

export async function openRuntime(ctx: CommandContext, ws: WorkspaceConfig, env: EnvironmentConfig): Promise<EnvironmentRuntime> {
  const recipe = await loadRecipe(ws, env.image);
  const services = recipe.services.map((name) => {
    const s = ws.services.get(name);
    return { name, ...(s?.port !== undefined && { port: s.port }), ...(s?.health !== undefined && { health: s.health }) };
  });
  const ports: Record<string, number> = {};
  for (const s of services) if (s.port !== undefined) ports[s.name] = env.ports[s.name] ?? 0;
  const engine = await createEngine(ctx.env);
  await engine.ping();
  const router = await ensureRouter(ws.dir, env.name, ports, process.argv[1] ?? join(ws.dir, 'bake'));
  const store = await openLayoutStore(workspacePaths(ws.dir).store);
  const blobs: BlobSource = { open: (d) => store.openRead(d as Digest), size: async (d) => (await store.readBytes(d as Digest)).length };
  const publish = Object.fromEntries(services.filter((s) => s.port !== undefined).map((s) => [s.port as number, 0]));
  return {
    ws,
    env,
    engine,
    router: router.client,
    listeners: router.info.listeners,
    blobs,
    async targetOf(release) {
      const loaded = await loadIntoEngine(engine, store, release.digest, release.image, release.build);
      return {
        scope: workspaceScope(ws.dir),
        env: env.name,
        image: release.image,
        release: release.id,
        digest: release.digest,
        imageId: loaded.imageId,
        level: release.level,
        vector: release.vector,
        serviceLayers: release.serviceLayers,
        services,
        publish,
      };
    },
  };
}

/** A short stable id of a workspace directory, carried as a label by everything deploy starts. */
export function workspaceScope(dir: string): string {
  return createHash('sha256').update(dir).digest('hex').slice(0, 12);
}

/** Deploys to one environment never overlap: this lock is held for the whole change. */
export function withEnvironmentLock<T>(ctx: CommandContext, env: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(join(workspacePaths(ctx.workspace).locks, `env-${env}`), { purpose: `deploy to ${env}`, timeoutMs: 600_000, ...lockTuning(ctx.env), onWait: (h) => ctx.progress({ kind: 'wait', message: `waiting for the deploy lock of ${env}${h ? ` held by PID ${h.pid} (${h.purpose})` : ''}` }) }, fn);
}

/** The live release of an environment's image, and the one before it. */
export async function liveAndPrevious(workspace: string, env: string, image: string): Promise<{ live?: ReleaseRecord; previous?: ReleaseRecord }> {
  const record = (await readManifest(workspacePaths(workspace).manifest)).environments[env];
  if (!record) return {};
  const liveId = record.live[image];
  const live = record.releases.find((r) => r.id === liveId);
  const previous = [...record.releases].reverse().find((r) => r.image === image && r.id !== liveId && r.state !== 'rolled-back' && (live === undefined || r.id < live.id));
  return { ...(live && { live }), ...(previous && { previous }) };
}
