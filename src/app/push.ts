import { viewManifest } from '../store/manifest-access.js';
import { buildById, newest } from '../manifest/lookups.js';
import type { PushResult as RegistryPush } from '../registry/push.js';
import { BakeError, InputError, UsageError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { pushBuilds } from './hand-off.js';

export interface PushOptions {
  image: string;
  /** REGISTRY/REPO, e.g. 127.0.0.1:5000/shop. */
  target: string;
  /** Build id to push; default: the image's newest build. */
  build?: number;
  /**
   * Send layers gzip-compressed (each compressed once, cached in the store by digest): fewer bytes
   * on a real network, but the pushed manifest's digest is not the store's (`storeDigest` is).
   */
  compress?: boolean;
}

/** What `bake push --json` prints. */
export interface PushResult extends RegistryPush {
  image: string;
  build: number;
}

/**
 * Pushes a recorded build from the store to a registry over the distribution API, tagged
 * `<image>-<build>`, and records the push on the build (reference, pushed digest, when, by whom:
 * `bake status`, `bake log` and revocations show it). Throws UsageError when the image or target is missing, InputError for an
 * unknown build or a malformed target, RemoteStatusError when the registry refuses.
 */
export async function push(ctx: AppContext, options: PushOptions): Promise<PushResult> {
  if (!options.image || !options.target) throw new UsageError('bake push takes an image and REGISTRY/REPO (see bake push --help)');
  const image = options.image;
  const build = await viewManifest(ctx.workspace, (m) => {
    const builds = m.builds[image] ?? [];
    return options.build === undefined ? newest(builds) : buildById(builds, options.build);
  });
  const wanted = options.build ?? 0;
  if (!build) {
    const message = `no build ${wanted || ''} of ${options.image}`.replace('  ', ' ');
    throw new InputError([{ file: 'command line', field: 'image', message, fix: `run: bake build ${options.image}` }]);
  }
  const wantedBuilds = [{ image: options.image, build: build.id, digest: build.digest }];
  const [pushed] = await pushBuilds(ctx, wantedBuilds, options.target, { compress: options.compress === true });
  if (!pushed) throw new BakeError(`push of ${options.image}:${build.id} returned no result`);
  return { image: options.image, build: build.id, ...pushed };
}
