import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Engine } from '../engine/docker-engine.js';
import { Label } from '../engine/labels.js';
import { BakeError } from '../util/errors.js';
import { extractMember, readMember } from '../layer/tar.js';
import type { Layer } from '../layer/layer.js';
import type { LayoutStore } from '../oci/layout-store.js';
import { MediaType } from '../oci/media-types.js';
import { loadIntoEngine } from '../publish/engine-load.js';
import type { Digest } from '../util/digest.js';

/** A provisioning command failed; carries its output. */
export class ProvisionError extends BakeError {
  override name = 'ProvisionError';
  override readonly kind: string = 'provision';
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.output = output;
  }
  override details(): Record<string, unknown> {
    return { output: this.output };
  }
}

/**
 * Runs a recipe's provisioning commands in a container made from the partially built image
 * (base + services) and returns what they changed as one layer, lifted from the committed
 * container's `docker save` archive. Such a layer depends on what the commands did, so builds
 * that use it are recorded as not reproducible. Leaves no container or image behind, even on
 * failure. Throws ProvisionError (with the commands' output), EngineError.
 */
export async function provisionLayer(
  engine: Engine,
  store: LayoutStore,
  partial: Digest,
  commands: readonly string[],
  options: { image: string; workDir: string },
): Promise<Layer> {
  const stamp = `${process.pid}-${Date.now()}`;
  const labels = { [Label.provision]: options.image };
  const loaded = await loadIntoEngine(engine, store, partial, `provision-${options.image}`, 0);
  let container: string | undefined;
  let committed: string | undefined;
  const spool = join(options.workDir, `provision-${stamp}.tar`);
  let layer: Layer | undefined;
  let cleanupError: unknown;
  try {
    container = await engine.createContainer({
      name: `bake-provision-${options.image}-${stamp}`,
      image: loaded.imageId,
      labels,
      entrypoint: ['/bin/sh', '-c'],
      cmd: [commands.map((c) => `(${c})`).join(' && ')],
    });
    await engine.startContainer(container);
    const exitCode = await engine.waitContainer(container);
    const output = await engine.logs(container);
    if (exitCode !== 0) {
      throw new ProvisionError(`${options.image}: provisioning failed with exit code ${exitCode}:\n${output.trimEnd()}`, output);
    }
    committed = await engine.commitContainer(container, labels);
    await mkdir(options.workDir, { recursive: true });
    await pipeline(await engine.saveImage(committed), createWriteStream(spool));
    const index = await readMember(createReadStream(spool), 'manifest.json');
    const layers = (JSON.parse(index?.toString('utf8') ?? '[]') as { Layers?: string[] }[])[0]?.Layers ?? [];
    const top = layers.at(-1);
    if (!top) throw new ProvisionError(`${options.image}: the provisioned image has no layers`, output);
    await extractMember(createReadStream(spool), top, async (member) => {
      const { digest, size } = await store.putStream(member);
      layer = { descriptor: { mediaType: MediaType.layer, digest, size }, diffId: digest };
    });
    if (!layer) throw new ProvisionError(`${options.image}: layer ${top} is missing from the saved image`, output);
  } finally {
    // Clean up everything, and never let a cleanup error hide why provisioning failed.
    const cleanup = [
      () => (container ? engine.removeContainer(container) : undefined),
      () => (committed ? engine.removeImage(committed) : undefined),
      () => engine.removeImage(loaded.imageId),
      () => rm(spool, { force: true }),
    ];
    for (const step of cleanup) {
      try {
        await step();
      } catch (error) {
        cleanupError ??= error;
      }
    }
  }
  if (cleanupError) throw cleanupError;
  if (!layer) throw new ProvisionError(`${options.image}: provisioning produced no layer`, '');
  return layer;
}
