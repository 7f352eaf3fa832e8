import { readManifest } from '../../manifest/manifest-file.js';
import { InputError, UsageError } from '../../util/errors.js';
import { workspacePaths } from '../../config/workspace-paths.js';
import { defineCommand } from '../command.js';
import { pushBuilds } from '../hand-off.js';

export const pushCommand = defineCommand({
  name: 'push',
  summary: 'push a build to an OCI registry over the distribution API',
  help: `Usage: bake push <image> REGISTRY/REPO [--build ID]

Pushes a build (by default the image's newest) from .bake/store to a registry, directly over
the OCI distribution API: no Docker engine needed. Blobs the registry already has are skipped.
Prints REGISTRY/REPO@sha256:…, the same digest as in the store; the tag is <image>-<build>.

Credentials: BAKE_REGISTRY_USERNAME and BAKE_REGISTRY_PASSWORD, else the Docker config file
(~/.docker/config.json "auths"). Basic and bearer-token registries are supported. Loopback
registries are spoken to over http; others over https unless listed in BAKE_REGISTRY_INSECURE.

JSON: {"image","build","reference","digest","tag","uploaded","skipped"}`,
  options: ['build'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const [image, target, ...rest] = positionals;
    if (!image || !target || rest.length > 0) throw new UsageError('bake push takes an image and REGISTRY/REPO (see bake push --help)');
    const manifest = await readManifest(workspacePaths(ctx.workspace).manifest);
    const builds = manifest.builds[image] ?? [];
    const wanted = values['build'] !== undefined ? values['build'] : Math.max(0, ...builds.map((b) => b.id));
    const build = builds.find((b) => b.id === wanted);
    if (!build) throw new InputError([{ file: 'command line', field: 'image', message: `no build ${wanted || ''} of ${image}`.replace('  ', ' '), fix: `run: bake build ${image}` }]);
    const [push] = await pushBuilds(ctx, [{ image, build: build.id, digest: build.digest }], target);
    return {
      json: { image, build: build.id, ...push },
      human: [`pushed ${image}:${build.id} as ${push?.reference} (${push?.uploaded} uploaded, ${push?.skipped} already there)`],
    };
  },
});
