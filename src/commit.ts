import { mkdir } from 'node:fs/promises';
import type { ServiceConfig, WorkspaceConfig } from './config/types.js';
import { lockTuning } from './lock/lock-tuning.js';
import { waitingMessage } from './lock/file-lock.js';
import { writeLayer } from './layer/layer.js';
import { readManifest, updateManifest } from './manifest/manifest-file.js';
import { latestVersion, type CommittedVersion } from './manifest/model.js';
import { markSupersededBuilds } from './manifest/staleness.js';
import { openLayoutStore } from './oci/layout-store.js';
import { silent, type ProgressSink } from './progress.js';
import { quickContentDigest, snapshotService } from './source/snapshot.js';
import { contentDigest } from './source/tree.js';
import { isoSeconds } from './util/clock.js';
import { currentActor, workspacePaths } from './workspace-paths.js';

export interface CommitOptions {
  /** Snapshot this directory instead of the services' committed sources. */
  from?: string;
  env?: NodeJS.ProcessEnv;
  progress?: ProgressSink;
}

export interface CommitResult {
  service: string;
  version: number;
  /** Content digest of the version. */
  digest: string;
  /** Digest of the layer that installs it. */
  layer: string;
  revision: string | null;
  /** False when identical content was already the latest version. */
  created: boolean;
}

/**
 * Records a new committed version of each service whose content changed since its latest
 * version. The layer is stored (content-addressed) before the manifest names it, so a crash in
 * between leaves at worst an unreferenced blob. Throws GitError, UnsafeSourceError,
 * BuildCommandError, ManifestError, LockError.
 */
export async function commitServices(ws: WorkspaceConfig, services: readonly ServiceConfig[], options: CommitOptions = {}): Promise<CommitResult[]> {
  const paths = workspacePaths(ws.dir);
  const progress = options.progress ?? silent;
  await mkdir(paths.work, { recursive: true });
  const store = await openLayoutStore(paths.store);
  const results: CommitResult[] = [];
  for (const service of services) {
    progress({ kind: 'step', message: `snapshot ${service.name}` });
    const quick = await quickContentDigest(service, options.from !== undefined ? { from: options.from } : {});
    const before = latestVersion(await readManifest(paths.manifest), service.name);
    if (quick !== undefined && before?.digest === quick) {
      results.push(resultOf(service.name, before, false));
      continue;
    }
    const snapshot = await snapshotService(service, {
      workDir: paths.work,
      ...(options.from !== undefined && { from: options.from }),
      ...(options.env !== undefined && { env: options.env }),
    });
    const digest = snapshot.treeDigest ?? (await contentDigest(snapshot.entries, `${service.install}\0${service.build ?? ''}`));
    if (before?.digest === digest) {
      results.push(resultOf(service.name, before, false));
      continue;
    }
    progress({ kind: 'step', message: `pack ${service.name}` });
    const layer = await writeLayer(store, snapshot.entries, { prefix: service.install, mtime: snapshot.time });
    const recorded = await updateManifest(
      paths.manifest,
      { purpose: `commit ${service.name}`, ...lockTuning(options.env), onWait: (holder) => progress({ kind: 'wait', message: waitingMessage(holder) }) },
      async (manifest) => {
        const latest = latestVersion(manifest, service.name);
        if (latest?.digest === digest) return { result: resultOf(service.name, latest, false), write: false };
        const version: CommittedVersion = {
          version: (latest?.version ?? 0) + 1,
          digest,
          layer: { digest: layer.descriptor.digest, size: layer.descriptor.size, mediaType: layer.descriptor.mediaType },
          install: service.install,
          source: snapshot.source,
          ...(snapshot.revision !== undefined && { revision: snapshot.revision }),
          ...(snapshot.author !== undefined && { author: snapshot.author }),
          created: isoSeconds(snapshot.time),
          recordedAt: new Date().toISOString(),
          recordedBy: currentActor(options.env),
          generation: manifest.generation + 1,
        };
        (manifest.services[service.name] ??= { versions: [] }).versions.push(version);
        markSupersededBuilds(manifest);
        return { result: resultOf(service.name, version, true), write: true };
      },
    );
    progress({ kind: 'done', message: `${service.name} v${recorded.version}${recorded.created ? '' : ' (unchanged)'}` });
    results.push(recorded);
  }
  return results;
}

function resultOf(service: string, v: CommittedVersion, created: boolean): CommitResult {
  return { service, version: v.version, digest: v.digest, layer: v.layer.digest, revision: v.revision ?? null, created };
}
