import { archiveOf } from '../layer/tar.js';
import type { Engine } from '../engine/docker-engine.js';
import type { Digest } from '../util/digest.js';
import type { BlobSource } from './blob-source.js';

/** One service version to bind into a light container. */
export interface Pin {
  service: string;
  version: number;
  /** Digest of the service layer (an uncompressed tar rooted at /). */
  layer: Digest;
}

/**
 * Installs pinned service layers into a light container from the inside, through the engine's
 * archive upload: each layer goes to /bake/versions/<service>/<n>/ (kept for undo), then the pin
 * files are written, which the agent acts on. Works before the container starts and while it runs.
 * Throws EngineError.
 */
export async function installPins(
  engine: Pick<Engine, 'putArchive'>,
  containerId: string,
  pins: readonly Pin[],
  blobs: BlobSource,
): Promise<void> {
  // putArchive needs its target directory to exist: create them with one small archive first.
  const dirs = pins.map((p) => ({ name: `bake/versions/${p.service}/${p.version}/.installed`, size: 0, body: () => Buffer.alloc(0) }));
  await engine.putArchive(containerId, '/', archiveOf(dirs));
  for (const pin of pins) {
    await engine.putArchive(containerId, `/bake/versions/${pin.service}/${pin.version}`, blobs.open(pin.layer));
  }
  await writePins(engine, containerId, pins);
}

/** Points the agent at versions already installed (an upgrade's undo is exactly this). */
export async function writePins(engine: Pick<Engine, 'putArchive'>, containerId: string, pins: readonly Pin[]): Promise<void> {
  const files = pins.map((p) => {
    const body = Buffer.from(`${p.version}\n`);
    return { name: `bake/pins/${p.service}`, size: body.length, body: () => body };
  });
  await engine.putArchive(containerId, '/', archiveOf(files));
}
