import { runSteps, type Step } from '../deploy/steps.js';
import { upgradeInPlace, type InPlaceResult } from '../deploy/upgrade-in-place.js';
import { readManifest } from '../store/manifest-access.js';
import type { VersionVector } from '../manifest/model.js';
import { releaseImage } from '../release/release.js';
import { setReleaseState } from '../release/release-state.js';
import type { Digest } from '../util/digest.js';
import { BakeError, UsageError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { deployContext } from './deploy-context.js';
import { environmentConfig, liveAndPrevious, openRuntime, requireLocalEngine, withEnvironmentLock } from './environment-runtime.js';
import { stopRecord } from './release-moves.js';
import { migrateAfterRetire, migrateBeforeStart } from '../compat/run-migrations.js';
import { migrationSite } from './migration-site.js';
import { DEFAULT_PROGRESS_DEADLINE, dueChange, settleEnvironment } from './settle.js';
import { guardToggles } from './toggle-guard.js';

export interface UpgradeOptions {
  env: string;
  /** Upgrade only these services (default: every service of the image with a newer committed version). */
  services?: string[];
}

/** What `bake upgrade --json` prints: the release the upgrade recorded, or `unchanged` when nothing is newer. */
export interface UpgradeResult {
  env: string;
  /** The release upgraded from, and the one recorded for the new versions (null when unchanged). */
  from: number;
  release: number | null;
  vector: VersionVector;
  /** Service → [from, to] for each version installed. */
  changed: Record<string, [number, number]>;
  /** Instances upgraded, one at a time. */
  instances: string[];
  unchanged: boolean;
  togglesOff?: string[];
}

/**
 * Installs newer committed versions into the running instances of a light environment, in place
 * (the Chef/Puppet path): the new vector goes through the race gate as a release record first
 * (exit 3 when it refuses), then one instance at a time is taken out of rotation, gets the new
 * service layers and pins, must answer healthy with the new version, and goes back in rotation
 * with the new release. A failure puts the old pins back on every instance done (they stay
 * installed) and marks the release rolled-back. Throws UsageError for a heavy environment or a
 * service the image does not hold, BakeError when nothing runs or a rollout is on probation.
 */
export async function upgrade(ctx: AppContext, options: UpgradeOptions): Promise<UpgradeResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  requireLocalEngine(env, 'bake upgrade');
  return withEnvironmentLock(ctx, env.name, async () => {
    if (await dueChange(ws.dir, env.name, env.image, env.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE)) {
      await settleEnvironment(ctx, await openRuntime(ctx, ws, env));
    }
    const { live } = await liveAndPrevious(ws.dir, env.name, env.image);
    if (!live) throw new BakeError(`${env.name} runs nothing to upgrade: bake deploy --env ${env.name} first`);
    if (live.level !== 'light')
      throw new UsageError(
        `bake upgrade: ${env.name} runs ${env.image}, baked heavy; in-place upgrades need bake: light (deploy a new build instead)`,
      );
    if (live.state === 'probation' || live.state === 'installing')
      throw new BakeError(`release ${live.id} of ${env.name} is ${live.state}: finish it first`);
    const manifest = await readManifest(ws.dir);
    const named = options.services ?? [];
    for (const s of named)
      if (live.vector[s] === undefined)
        throw new UsageError(`bake upgrade: ${env.image} holds no service ${s} (it holds ${Object.keys(live.vector).join(', ')})`);
    const vector: VersionVector = { ...live.vector };
    const serviceLayers: Record<string, Digest> = { ...live.serviceLayers };
    const changed: Record<string, [number, number]> = {};
    for (const service of named.length > 0 ? named : Object.keys(live.vector)) {
      const latest = manifest.services[service]?.versions.at(-1);
      const have = live.vector[service] ?? 0;
      if (!latest || latest.version <= have) continue;
      vector[service] = latest.version;
      serviceLayers[service] = latest.layer.digest;
      changed[service] = [have, latest.version];
    }
    if (Object.keys(changed).length === 0) {
      return { env: env.name, from: live.id, release: null, vector: live.vector, changed, instances: [], unchanged: true };
    }
    const togglesOff = await guardToggles(ctx, ws.dir, env.name, [vector], 'upgrade');
    const release = await releaseImage(ws.dir, env.image, env.name, {
      build: live.build,
      bind: { vector, serviceLayers },
      // Upgrading some services while others have newer versions is what naming them asks for (recorded).
      allowStale: named.length > 0,
      acceptsDev: env.dev,
      initialState: 'installing',
      env: ctx.env,
      progress: ctx.progress,
      extra: { strategy: 'in-place', upgradeOf: live.id },
      rollout: { strategy: 'in-place', replicas: env.replicas, batch: 1 },
    });
    const rt = await openRuntime(ctx, ws, env);
    const from = await rt.targetOf(live);
    const to = await rt.targetOf({ ...live, id: release.release, vector, serviceLayers });
    const deploy = deployContext(ctx, rt, to, from);
    const instances = (await rt.router.state()).instances.filter((i) => i.release === live.id);
    const steps: Step[] = instances.map((instance) => {
      let done: InPlaceResult | undefined;
      return {
        name: `upgrade instance ${instance.id} in place to release ${release.release}`,
        async run() {
          await rt.router.drain(instance.id);
          try {
            const info = await rt.engine.inspectContainer(instance.id);
            if (!info) throw new BakeError(`container ${instance.id} is gone`);
            done = await upgradeInPlace(rt.engine, info, from, to, rt.blobs, { timeoutMs: rt.healthTimeoutMs });
            await rt.router.update(instance.id, { release: release.release, vector, draining: false });
          } catch (error) {
            await rt.router.update(instance.id, { draining: false });
            throw error;
          }
        },
        async undo() {
          await rt.router.drain(instance.id);
          await done?.undo();
          await rt.router.update(instance.id, { release: live.id, vector: live.vector, draining: false });
        },
      };
    });
    try {
      // Expand migrations before the first instance runs the new code; contract ones after the last is upgraded.
      await migrateBeforeStart(migrationSite(ctx, rt), { id: release.release, vector }, [live.vector]);
      await runSteps(steps, {
        what: `in-place upgrade of ${env.name} to release ${release.release}`,
        log: deploy.log,
        ...(ctx.signal && { signal: ctx.signal }),
      });
    } catch (error) {
      const message = (error as Error).message;
      await setReleaseState(ws.dir, env.name, release.release, 'rolled-back', {
        env: ctx.env,
        kind: 'upgrade',
        note: message,
        patch: { stopped: stopRecord(ctx, { reason: ctx.signal?.aborted ? 'interrupted' : 'failed', message }) },
      });
      throw error;
    }
    const summary = Object.entries(changed)
      .map(([s, [a, b]]) => `${s} v${a} → v${b}`)
      .join(', ');
    await setReleaseState(ws.dir, env.name, release.release, 'committed', {
      env: ctx.env,
      kind: 'upgrade',
      note: `upgraded in place from release ${live.id}: ${summary}, ${instances.length} instance(s) one at a time`,
    });
    await migrateAfterRetire(
      migrationSite(ctx, rt),
      { id: release.release, vector },
      (await rt.router.state()).instances.map((i) => i.vector),
    );
    return {
      env: env.name,
      from: live.id,
      release: release.release,
      vector,
      changed,
      instances: instances.map((i) => i.id),
      unchanged: false,
      ...(togglesOff.length > 0 && { togglesOff }),
    };
  });
}
