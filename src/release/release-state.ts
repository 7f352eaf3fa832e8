import { updateManifest } from '../manifest/manifest-file.js';
import type { ReleaseRecord, ReleaseState } from '../manifest/model.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { workspacePaths } from '../config/workspace-paths.js';

/**
 * Moves a release along (installing → probation → committed, or → rolled-back). Rolling back
 * also makes the release that was live before it live again, so the gate compares against what
 * actually runs.
 */
export async function setReleaseState(workspace: string, env: string, releaseId: number, state: ReleaseState, options: { env?: NodeJS.ProcessEnv } = {}): Promise<ReleaseRecord | undefined> {
  return updateManifest(workspacePaths(workspace).manifest, { purpose: `mark release ${releaseId} of ${env} ${state}`, ...lockTuning(options.env) }, async (manifest) => {
    const record = manifest.environments[env];
    const release = record?.releases.find((r) => r.id === releaseId);
    if (!record || !release) return { result: undefined, write: false };
    release.state = state;
    if (state === 'rolled-back' && record.live[release.image] === release.id) {
      const previous = [...record.releases].reverse().find((r) => r.image === release.image && r.id < release.id && r.state !== 'rolled-back');
      if (previous) record.live[release.image] = previous.id;
      else delete record.live[release.image];
    }
    return { result: release, write: true };
  });
}
