import { describeVector } from '../../manifest/vector.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const buildCommand = defineCommand({
  name: 'build',
  summary: 'bake images from recipes and the latest committed versions',
  help: `Usage: bake build <image>... | --all [--commit] [--serialize] [--max-rebakes N] [--allow-stale]
                  [--load] [--push REG/REPO]

Bakes each image from recipes/<image>.yaml with the latest committed version of every service
it contains, into the OCI image layout at .bake/store, and records the build (its digest and
version vector) in the version manifest. The same committed versions and recipe always give the
same digest.

By default the vector is resolved under the manifest lock, the image is assembled outside it,
and at record time bake proves no service in the vector got a newer commit meanwhile; if one did,
the build is recorded stale and rebaked with the new vector (up to --max-rebakes times). A build
still stale after that fails loudly: exit 3, kind "stale", naming the newer version and who
committed it (the build stays recorded, as stale). --commit refuses (exit 3) before baking when
the history gate refused one of the images' services (see bake commit --help).

Options:
  --all              build every recipe in recipes/
  --commit           first commit the services these images contain (like bake commit), so
                     one command takes a CI job from a git push to a baked image
  --serialize        hold the image's lock through resolve, build and record, so bakes of one
                     image never overlap (images that share no lock still bake in parallel)
  --max-rebakes N    rebake a build found stale at most N times (default 3; 0: fail at once)
  --allow-stale      keep a build that ends stale (exit 0); the override is recorded with the build
  --load             load each image into the Docker engine (DOCKER_HOST) as bake/<image>:<build>;
                     skipped when the engine has it; its image ID is checked against the config digest
  --push REG/REPO    push each image to an OCI registry over the distribution API (no engine
                     needed); prints REG/REPO@sha256:…, equal to the digest in .bake/store, and
                     records the push on the build (bake status, bake log; see bake push --help)

JSON: {"builds":[{"image","build","digest","vector":{"svc":n},"stale":false,"reused":false,"ref","rebaked":[…]}]}`,
  options: ['all', 'commit', 'load', 'push', 'serialize', 'max-rebakes', 'allow-stale'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const maxRebakes = values['max-rebakes'];
    const { commits, builds } = await invoke(ctx, 'build', {
      images: positionals,
      ...(values['all'] === true && { all: true }),
      ...(values['commit'] === true && { commit: true }),
      ...(values['serialize'] === true && { serialize: true }),
      ...(maxRebakes !== undefined && { maxRebakes }),
      ...(values['allow-stale'] === true && { allowStale: true }),
      ...(values['load'] === true && { load: true }),
      ...(values['push'] !== undefined && { push: values['push'] }),
    });
    return {
      json: commits ? { commits, builds } : { builds },
      human: [
        ...(commits ?? []).filter((c) => c.created).map((c) => `${c.service} v${c.version} committed`),
        ...builds.flatMap((b) => [
          ...b.rebaked.map((r) => {
            const newer = r.supersededBy.map((s) => `${s.service} v${s.have} < v${s.latest}`).join(', ');
            return `${b.image}:${r.build} was stale at record time (${newer}); rebaked`;
          }),
          `${b.ref} ${b.digest}${b.reused ? ' (unchanged)' : ''}${b.stale ? ` STALE${b.overrides ? ' (kept: --allow-stale)' : ''}` : ''}`,
          ...(b.load ? [`  loaded into the engine as ${b.load.tag}${b.load.loaded ? '' : ' (already there)'}`] : []),
          ...(b.push ? [`  pushed ${b.push.reference} (${b.push.uploaded} blob(s) uploaded, ${b.push.skipped} already there)`] : []),
          `  ${describeVector(b.vector)}`,
        ]),
      ],
    };
  },
});
