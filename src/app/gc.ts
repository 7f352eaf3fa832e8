import { collectStore } from '../gc/collect.js';
import type { EngineCollectResult } from '../gc/engine-gc.js';
import type { AppContext } from './context.js';

export interface GcOptions {
  /** Say what would be removed; remove nothing. */
  dryRun?: boolean;
  /** Also remove stopped bake containers and collected builds' images from the Docker engine. */
  engine?: boolean;
  /** Keep unreferenced blobs younger than this many seconds (default 3600). */
  graceSeconds?: number;
}

/** What `bake gc --json` prints: `engine` only with `engine`. */
export interface GcResult {
  dryRun: boolean;
  /** `uploads`: trees uploaded to `bake serve` that nothing needs any more (digests), `uploadBytes` their size. */
  store: { builds: string[]; blobs: string[]; bytes: number; uploads: string[]; uploadBytes: number };
  engine?: EngineCollectResult;
}

/**
 * Removes the builds no release references (their records stay, marked collected) and every blob
 * nothing references, from the store and optionally the engine. Throws ManifestError, LockError,
 * and EngineUnavailableError with `engine` when no engine answers.
 */
export async function gc(ctx: AppContext, options: GcOptions = {}): Promise<GcResult> {
  const dryRun = options.dryRun === true;
  const grace = options.graceSeconds !== undefined ? { graceSeconds: options.graceSeconds } : {};
  const store = await collectStore(ctx.workspace, { dryRun, env: ctx.env, ...grace });
  let engine: EngineCollectResult | undefined;
  if (options.engine === true) {
    const { createEngine } = await import('../engine/docker-engine.js');
    const { collectEngine } = await import('../gc/engine-gc.js');
    const client = await createEngine(ctx.env);
    await client.ping();
    engine = await collectEngine(client, store.droppedConfigs, { dryRun });
  }
  return {
    dryRun,
    store: { builds: store.builds, blobs: store.blobs, bytes: store.bytes, uploads: store.uploads, uploadBytes: store.uploadBytes },
    ...(engine && { engine }),
  };
}
