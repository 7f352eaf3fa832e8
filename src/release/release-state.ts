import { updateManifest } from '../store/manifest-access.js';
import { releaseById } from '../manifest/lookups.js';
import type { EnvironmentChange, EnvironmentRecord, ReleaseRecord, ReleaseState } from '../manifest/model.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { currentActor } from '../config/workspace-paths.js';

/** Fields of a release record the deploy step may change besides its state. */
export type ReleasePatch = Partial<Pick<ReleaseRecord, 'probationUntil' | 'rollout' | 'stopped' | 'strategy'>>;

export interface StateChangeOptions {
  env?: NodeJS.ProcessEnv;
  /** Fields to set with the state (`undefined` removes one). */
  patch?: { [K in keyof ReleasePatch]: ReleasePatch[K] | undefined };
  /** Why, for the history ("switched back during probation"). */
  note?: string;
  /** The history entry's kind; default `state`. */
  kind?: EnvironmentChange['kind'];
  detail?: Record<string, unknown>;
}

/**
 * Moves a release along (installing → probation → committed, or → rolled-back) and records the
 * change in the environment's history. Rolling back also makes the release that was live before
 * it live again, so the gate compares against what actually runs. Returns the updated record,
 * undefined when there is no such release. Throws what the manifest lock throws.
 */
export async function setReleaseState(
  workspace: string,
  env: string,
  releaseId: number,
  state: ReleaseState,
  options: StateChangeOptions = {},
): Promise<ReleaseRecord | undefined> {
  return updateManifest(
    workspace,
    { purpose: `mark release ${releaseId} of ${env} ${state}`, ...lockTuning(options.env) },
    async (manifest) => {
      const record = manifest.environments[env];
      const release = record ? releaseById(record.releases, releaseId) : undefined;
      if (!record || !release) return { result: undefined, write: false };
      const from = release.state;
      release.state = state;
      for (const [key, value] of Object.entries(options.patch ?? {})) {
        if (value === undefined) delete (release as unknown as Record<string, unknown>)[key];
        else (release as unknown as Record<string, unknown>)[key] = value;
      }
      if (state === 'rolled-back' && record.live[release.image] === release.id) {
        const previous = [...record.releases]
          .reverse()
          .find((r) => r.image === release.image && r.id < release.id && r.state !== 'rolled-back');
        if (previous) record.live[release.image] = previous.id;
        else delete record.live[release.image];
      }
      const moved = from === state ? `release ${release.id} stays ${state}` : `release ${release.id} ${from} → ${state}`;
      pushChange(record, {
        at: new Date().toISOString(),
        by: currentActor(options.env),
        kind: options.kind ?? 'state',
        release: release.id,
        state,
        message: options.note ? `${moved}: ${options.note}` : moved,
        ...(options.detail && { detail: options.detail }),
      });
      return { result: release, write: true };
    },
  );
}

/** Records a change that moves no release (a toggle, a step of a rollout) in the environment's history. */
export async function recordChange(
  workspace: string,
  env: string,
  change: Omit<EnvironmentChange, 'at' | 'by'>,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  await updateManifest(workspace, { purpose: `record a change of ${env}`, ...lockTuning(options.env) }, async (manifest) => {
    const record = (manifest.environments[env] ??= { live: {}, releases: [], refusals: [] });
    pushChange(record, { at: new Date().toISOString(), by: currentActor(options.env), ...change });
    return { result: undefined, write: true };
  });
}

function pushChange(record: EnvironmentRecord, change: EnvironmentChange): void {
  (record.changes ??= []).push(change);
}
