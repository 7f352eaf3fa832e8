import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const pushCommand = defineCommand({
  name: 'push',
  summary: 'push a build to an OCI registry over the distribution API',
  help: `Usage: bake push <image> REGISTRY/REPO [--build ID] [--compress]

Pushes a build (by default the image's newest) from .bake/store to a registry, directly over
the OCI distribution API: no Docker engine needed. Blobs the registry already has are skipped.
Prints REGISTRY/REPO@sha256:…, the same digest as in the store (unless --compress); the tag is
<image>-<build>. Each successful push is recorded on its build (reference, pushed digest, who,
when): bake status lists it, bake log shows it, and a revocation names it among the holders.

Credentials: BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD, else the Docker config file
(~/.docker/config.json "auths"). Basic and bearer-token registries are supported. Loopback
registries are spoken to over http; others over https unless listed in BAKE_REGISTRY_INSECURE.

Options:
  --build ID    push this build instead of the image's newest
  --compress    send layers gzip-compressed (each layer compressed once and cached in the store,
                so pushing it again costs nothing): fewer bytes on a real network, but the pushed
                manifest names the gzip layers, so its digest differs from the store's
                ("storeDigest" in the JSON; both are recorded)

JSON: {"image","build","reference","digest","tag","uploaded","skipped","bytes","compressed","storeDigest"}`,
  options: ['build', 'compress'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const [image, target, ...rest] = positionals;
    if (!image || !target || rest.length > 0) throw new UsageError('bake push takes an image and REGISTRY/REPO (see bake push --help)');
    const build = values['build'];
    const compress = values['compress'] === true;
    const result = await invoke(ctx, 'push', { image, target, ...(build !== undefined && { build }), ...(compress && { compress }) });
    return {
      json: result,
      human: [`pushed ${image}:${result.build} as ${result.reference} (${result.uploaded} uploaded, ${result.skipped} already there)`],
    };
  },
});
