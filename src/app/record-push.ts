import { currentActor } from '../config/workspace-paths.js';
import { waitingMessage } from '../lock/file-lock.js';
import { lockTuning } from '../lock/lock-tuning.js';
import { updateManifest } from '../store/manifest-access.js';
import type { PushRecord } from '../manifest/model.js';
import type { PushResult } from '../registry/push.js';
import type { Digest } from '../util/digest.js';
import type { AppContext } from './context.js';

/** The build a push was of: its image and id. */
export interface PushedBuild {
  image: string;
  build: number;
}

/**
 * Records a successful push on its build in the manifest, under the lock: repository, tag, the
 * pushed manifest's reference and digest (which differs from the build's with compression), when
 * and by whom, so revocations can find every registry copy of a version. Appends even when the same
 * reference was pushed before: each push is an event. Writes nothing when the build is no longer
 * recorded (resolves undefined). Throws ManifestError, LockError.
 */
export async function recordPush(ctx: AppContext, build: PushedBuild, target: string, pushed: PushResult): Promise<PushRecord | undefined> {
  return updateManifest(
    ctx.workspace,
    {
      purpose: `record the push of ${build.image}:${build.build}`,
      ...lockTuning(ctx.env),
      onWait: (holder) => ctx.progress({ kind: 'wait', message: waitingMessage(holder) }),
    },
    async (manifest) => {
      const record = manifest.builds[build.image]?.find((b) => b.id === build.build);
      if (!record) return { result: undefined, write: false };
      const entry: PushRecord = {
        repository: target,
        tag: pushed.tag,
        reference: pushed.reference,
        digest: pushed.digest as Digest,
        compressed: pushed.compressed,
        at: new Date().toISOString(),
        by: currentActor(ctx.env),
        generation: manifest.generation + 1,
      };
      (record.pushes ??= []).push(entry);
      return { result: entry, write: true };
    },
  );
}
