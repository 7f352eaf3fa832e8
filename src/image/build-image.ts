import { join } from 'node:path';
import { assembleHeavy, assembleLight, type AssembledImage, type Provisioner } from './assemble.js';
import { InputError } from '../util/errors.js';
import { waitingMessage, withFileLock, type LockHolder } from '../lock/file-lock.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { resolveBase } from '../base/resolve-base.js';
import type { RecipeConfig, WorkspaceConfig } from '../config/types.js';
import { updateManifest, viewManifest } from '../store/manifest-access.js';
import { buildsWithDigest, nextId } from '../manifest/lookups.js';
import { latestVersion, type BuildRecord, type CommittedVersion, type VersionManifest, type VersionVector } from '../manifest/model.js';
import { readDirectoryTree } from '../source/directory-source.js';
import { assertSafeEntries } from '../tree/safe-entries.js';
import { writeLayer } from '../layer/layer.js';
import { contentDigest } from '../tree/tree.js';
import { staleServices, type Superseded } from '../manifest/staleness.js';
import { openLayoutStore, type LayoutStore } from '../oci/layout-store.js';
import { describeVector } from '../manifest/vector.js';
import { revokedIn, revokedRefusal } from '../revoke/revoked-refusal.js';
import { revocationIndex } from '../revoke/revocations.js';
import { planBuild, type BuildPlan } from './plan.js';
import { silent, type ProgressSink } from '../util/progress.js';
import { bakeClock, isoSeconds } from '../util/clock.js';
import { currentActor, workspacePaths } from '../config/workspace-paths.js';

export interface BuildOptions {
  /** Hold the image's lock through resolve → build → record, instead of checking at record time. */
  serialize?: boolean;
  /** How many times a build found stale at record time is rebaked with the new vector. */
  maxRebakes?: number;
  /** Bake from the working trees, uncommitted edits included; the build is marked dev. */
  dev?: boolean;
  /** A build that ends stale (after its rebakes) is kept on purpose: the override is recorded with it. */
  allowStale?: boolean;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
}

export interface BuildResult {
  image: string;
  build: number;
  digest: string;
  config: string;
  vector: VersionVector;
  stale: boolean;
  /** True when an earlier build already had this exact digest; no new build was recorded. */
  reused: boolean;
  ref: string;
  /** False when provisioning commands contributed a layer. */
  reproducible: boolean;
  /** Builds of this run that were found stale at record time and rebaked, oldest first. */
  rebaked: { build: number; digest: string; vector: VersionVector; supersededBy: Superseded[]; reused: boolean }[];
  /** When it ended stale: the services that had a newer committed version. */
  supersededBy?: Superseded[];
  /** `allowStale`: the staleness it ended with, recorded with the build. */
  overrides?: NonNullable<BuildRecord['overrides']>;
}

const DEFAULT_MAX_REBAKES = 3;

/**
 * Bakes one image from its recipe and the latest committed versions: resolve the vector, assemble
 * into the workspace's OCI layout, record the build under the manifest lock. At record time it
 * proves no service in the vector got a newer commit meanwhile; if one did, the build is recorded
 * stale and rebaked with the new vector (at most `maxRebakes` times). With `serialize`, the
 * image's lock is held throughout, so bakes of one image never overlap; different images proceed
 * in parallel. Throws InputError, StoreError, ManifestError, LockError, and RevokedRefusedError
 * (exit 3) when a version it would hold is revoked.
 */
export async function buildImage(ws: WorkspaceConfig, recipe: RecipeConfig, options: BuildOptions = {}): Promise<BuildResult> {
  const paths = workspacePaths(ws.dir);
  const progress = options.progress ?? silent;
  const imageLock = join(paths.locks, `image-${recipe.image}`);
  const lockOptions = {
    purpose: `bake ${recipe.image}`,
    ...lockTuning(options.env),
    onWait: (holder: LockHolder | undefined) =>
      progress({
        kind: 'wait',
        message: `waiting for the lock on image ${recipe.image}${holder ? ` held by PID ${holder.pid} since ${holder.since} (${holder.purpose})` : ''}`,
      }),
  };
  const attempt = () => bakeWithRebakes(ws, recipe, options, progress);
  return options.serialize ? withFileLock(imageLock, lockOptions, attempt) : attempt();
}

async function bakeWithRebakes(
  ws: WorkspaceConfig,
  recipe: RecipeConfig,
  options: BuildOptions,
  progress: ProgressSink,
): Promise<BuildResult> {
  const paths = workspacePaths(ws.dir);
  const opened = await openLayoutStore(paths.store);
  // The image's own blobs (supervisor layer, config, manifest) are made durable together once it is
  // assembled (LayoutStore.batch): three fdatasyncs at once, not one after another. A provisioner
  // reads the partial image's blobs from the store itself, so those are put one by one.
  const store = recipe.provision ? opened : (opened.batch?.() ?? opened);
  const rebaked: BuildResult['rebaked'] = [];
  const maxRebakes = options.maxRebakes ?? DEFAULT_MAX_REBAKES;
  for (;;) {
    // The vector is read from the committed manifest; recording proves it is still the latest (recordBuild).
    const { plan, revoked } = await viewManifest(paths.dir, async (manifest) => {
      const overrides = options.dev ? await workingTreeVersions(ws, recipe, manifest, store, options.env) : undefined;
      const plan = planBuild(ws, recipe, manifest, { ...(options.env && { env: options.env }), ...(overrides && { overrides }) });
      // Refused before anything is assembled. --dev bakes working trees, not the versions numbered.
      const revoked = options.dev ? [] : revokedIn(manifest, revocationIndex(manifest), plan.vector);
      return { plan, revoked };
    });
    progress({ kind: 'step', message: `${plan.image}: ${describeVector(plan.vector)}` });
    if (revoked.length > 0) throw revokedRefusal({ action: 'bake', image: plan.image }, revoked);
    const base = await resolveBase(recipe.base, store, { mtime: bakeClock(0, options.env), recipeFile: recipe.file });
    const provisioner = recipe.provision
      ? await engineProvisioner(recipe.image, recipe.provision, store, paths.work, options.env)
      : undefined;
    if (provisioner && plan.level === 'light')
      throw new InputError([
        {
          file: recipe.file,
          field: 'provision',
          message: 'provisioning needs bake: heavy',
          fix: 'use bake: heavy, or move the commands into a service build',
        },
      ]);
    const image = plan.level === 'heavy' ? await assembleHeavy(plan, base, store, provisioner) : await assembleLight(plan, base, store);
    progress({ kind: 'step', message: `${plan.image}: assembled ${image.manifest.digest}` });
    // Its blobs durable and named before the manifest lock is taken to record it (and tag it).
    await store.sync();
    const final = rebaked.length >= maxRebakes;
    const result = await recordBuild(
      paths.dir,
      store,
      plan,
      image,
      base.description,
      { ...options, final },
      progress,
      provisioner === undefined && !options.dev,
    );
    const { supersededBy: superseded, ...recorded } = result;
    if (!result.stale || final) return { ...recorded, rebaked, ...(result.stale && { supersededBy: superseded }) };
    progress({
      kind: 'done',
      message: `${plan.image}:${result.build} is stale (${superseded.map((s) => `${s.service} v${s.have} < v${s.latest}`).join(', ')}); rebaking`,
    });
    rebaked.push({ build: result.build, digest: result.digest, vector: result.vector, supersededBy: superseded, reused: result.reused });
  }
}

async function recordBuild(
  workspace: string,
  store: LayoutStore,
  plan: BuildPlan,
  image: AssembledImage,
  base: string,
  options: BuildOptions & { final: boolean },
  progress: ProgressSink,
  reproducible: boolean,
): Promise<Omit<BuildResult, 'rebaked'> & { supersededBy: Superseded[] }> {
  return updateManifest(workspace, manifestLockOptions(`record build of ${plan.image}`, options, progress), async (manifest) => {
    const builds = (manifest.builds[plan.image] ??= []);
    const supersededBy = staleServices(manifest, plan.vector);
    // Kept stale on purpose (--allow-stale, no rebake left): said so on the record, like a release's override.
    const overrides = options.allowStale && options.final ? staleOverrides(supersededBy, currentActor(options.env)) : [];
    // A light image is the same for every vector: a build is the digest *and* the pinned vector.
    const existing = buildsWithDigest(builds, image.manifest.digest).find(
      (b) => b.digest === image.manifest.digest && sameVector(b.vector, plan.vector) && (b.dev ?? false) === (options.dev ?? false),
    );
    if (existing) {
      if (!(await store.resolve(`${plan.image}:${existing.id}`))) await store.tag(image.manifest, `${plan.image}:${existing.id}`);
      if (overrides.length > 0) existing.overrides = [...(existing.overrides ?? []), ...overrides];
      const result = {
        ...resultOf(existing, true),
        stale: supersededBy.length > 0,
        supersededBy,
        ...(overrides.length > 0 && { overrides }),
      };
      return { result, write: overrides.length > 0 };
    }
    const record: BuildRecord = {
      id: nextId(builds),
      image: plan.image,
      digest: image.manifest.digest,
      config: image.config,
      level: plan.level,
      vector: plan.vector,
      serviceLayers: Object.fromEntries(plan.services.map((s) => [s.name, s.version.layer.digest])),
      base,
      created: isoSeconds(plan.created),
      builtAt: new Date().toISOString(),
      builtBy: currentActor(options.env),
      status: supersededBy.length > 0 ? 'stale' : 'current',
      ...(supersededBy.length > 0 && { supersededBy }),
      reproducible,
      ...(options.dev && { dev: true }),
      generation: manifest.generation + 1,
      ...(overrides.length > 0 && { overrides }),
    };
    // Tag before the manifest names the build, so a recorded build always has its ref.
    await store.tag(image.manifest, `${plan.image}:${record.id}`);
    builds.push(record);
    return { result: { ...resultOf(record, false), supersededBy, ...(overrides.length > 0 && { overrides }) }, write: true };
  });
}

function staleOverrides(superseded: readonly Superseded[], by: string): NonNullable<BuildRecord['overrides']> {
  const at = new Date().toISOString();
  return superseded.map((s) => ({ kind: 'stale', service: s.service, have: s.have, want: s.latest, flag: '--allow-stale', at, by }));
}

function manifestLockOptions(purpose: string, options: BuildOptions, progress: ProgressSink) {
  return {
    purpose,
    ...lockTuning(options.env),
    onWait: (holder: LockHolder | undefined) => progress({ kind: 'wait', message: waitingMessage(holder) }),
  };
}

/**
 * --dev: each service as it is in its working tree, uncommitted edits included, packed into a
 * layer and standing in for its committed version. The version numbers stay the latest committed
 * ones (so vectors still compare), but the build is marked dev and the gate keeps it out of every
 * environment that does not accept dev builds.
 */
async function workingTreeVersions(
  ws: WorkspaceConfig,
  recipe: RecipeConfig,
  manifest: VersionManifest,
  store: LayoutStore,
  env: NodeJS.ProcessEnv | undefined,
): Promise<Record<string, CommittedVersion>> {
  const out: Record<string, CommittedVersion> = {};
  const clock = bakeClock(Math.floor(Date.now() / 1000), env);
  for (const name of recipe.services) {
    const service = ws.services.get(name);
    if (!service) continue;
    const entries = await readDirectoryTree(service.source, { label: `service ${name} (working tree)` });
    assertSafeEntries(entries, { label: `service ${name} (working tree)`, links: 'contained' });
    const layer = await writeLayer(store, entries, { prefix: service.install, mtime: clock });
    out[name] = {
      version: latestVersion(manifest, name)?.version ?? 0,
      digest: await contentDigest(entries, `${service.install}\0dev`),
      layer: { digest: layer.descriptor.digest, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType },
      install: service.install,
      source: 'directory',
      created: isoSeconds(clock),
      recordedAt: new Date().toISOString(),
      recordedBy: currentActor(env),
      generation: 0,
    };
  }
  return out;
}

/** Provisioning runs in the Docker engine, which is loaded only for recipes that ask for it. */
async function engineProvisioner(
  image: string,
  commands: string[],
  store: LayoutStore,
  workDir: string,
  env: NodeJS.ProcessEnv | undefined,
): Promise<Provisioner> {
  const { createEngine } = await import('../engine/docker-engine.js');
  const { provisionLayer } = await import('../provision/provision.js');
  const engine = await createEngine(env);
  await engine.ping();
  return (partial) => provisionLayer(engine, store, partial.manifest.digest, commands, { image, workDir });
}

function sameVector(a: VersionVector, b: VersionVector): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function resultOf(record: BuildRecord, reused: boolean): Omit<BuildResult, 'rebaked'> {
  return {
    image: record.image,
    build: record.id,
    digest: record.digest,
    config: record.config,
    vector: record.vector,
    stale: record.status === 'stale',
    reused,
    reproducible: record.reproducible,
    ref: `${record.image}:${record.id}`,
  };
}

export type { BuildPlan };
