import type { ContainerInfo, Engine } from '../engine/docker-engine.js';
import type { BlobSource } from './blob-source.js';
import type { DeployTarget } from './deploy-plan.js';
import { installPins, writePins, type Pin } from './light-install.js';
import { pinsOf, waitForServices } from './instance.js';

export interface InPlaceResult {
  changed: Pin[];
  /** Puts the previous versions back (they were kept installed) and waits for them. */
  undo(): Promise<void>;
}

/**
 * Upgrades a running light container to another release of the same image: installs only the
 * service versions that differ, re-pins them (the agent restarts just those services), and waits
 * for the new versions to be healthy. If they are not, the old pins are restored before the error
 * is rethrown. The returned undo does the same on demand. Throws EngineError, HealthError.
 */
export async function upgradeInPlace(
  engine: Pick<Engine, 'putArchive'>,
  container: ContainerInfo,
  from: Pick<DeployTarget, 'vector' | 'serviceLayers' | 'services'>,
  to: DeployTarget,
  blobs: BlobSource,
  options: { timeoutMs?: number } = {},
): Promise<InPlaceResult> {
  const changed = pinsOf(to).filter((p) => from.vector[p.service] !== p.version);
  const previous = pinsOf(from).filter((p) => changed.some((c) => c.service === p.service));
  const undo = async () => {
    await writePins(engine, container.id, previous);
    await waitForServices(container, from, options.timeoutMs);
  };
  if (changed.length === 0) return { changed, undo };
  await installPins(engine, container.id, changed, blobs);
  try {
    await waitForServices(container, to, options.timeoutMs);
  } catch (error) {
    await undo();
    throw error;
  }
  return { changed, undo };
}
