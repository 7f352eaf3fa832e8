import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const gcCommand = defineCommand({
  name: 'gc',
  summary: 'remove images and blobs no release references, in the store and the engine',
  help: `Usage: bake gc [--dry-run] [--engine] [--grace SECONDS]

Keeps every build a release references (live or previous, any environment), the newest build of
each image, and every committed service version's layer. Removes the other builds' images from
.bake/store (their records stay, marked collected: they can no longer be released) and every
blob nothing references. Blobs younger than --grace (default 3600 s) are kept, because a bake
writes blobs before it records them.

Options:
  --dry-run        say what would be removed, remove nothing
  --engine         also remove, from the Docker engine, stopped bake containers and the images
                   of this workspace's collected builds that no running container uses
  --grace SECONDS  keep unreferenced blobs younger than this (default 3600)

Uploads to bake serve (.bake/uploads) older than --grace that no running request names are
removed too.

JSON: {"store":{"builds","blobs","bytes","uploads","uploadBytes"},"engine":{"containers","images"}}`,
  options: ['dry-run', 'engine', 'grace'],
  service: 'forward',
  positionals: false,
  async run(ctx, _positionals, values) {
    const grace = values['grace'];
    const result = await invoke(ctx, 'gc', {
      ...(values['dry-run'] === true && { dryRun: true }),
      ...(values['engine'] === true && { engine: true }),
      ...(grace !== undefined && { graceSeconds: grace }),
    });
    const { store, engine } = result;
    const verb = result.dryRun ? 'would remove' : 'removed';
    return {
      json: result,
      human: [
        `store: ${verb} ${store.builds.length} build(s), ${store.blobs.length} blob(s), ${(store.bytes / 1e6).toFixed(1)} MB`,
        ...store.builds.map((b) => `  ${b}`),
        ...(store.uploads.length > 0 ? [`uploads: ${verb} ${store.uploads.length}, ${(store.uploadBytes / 1e6).toFixed(1)} MB`] : []),
        ...(engine ? [`engine: ${verb} ${engine.containers.length} container(s), ${engine.images.length} image(s)`] : []),
        ...(engine?.images ?? []).map((i) => `  ${i}`),
      ],
    };
  },
});
