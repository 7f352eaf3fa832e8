import { describeVector } from '../../manifest/vector.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const releaseCommand = defineCommand({
  name: 'release',
  summary: 'hand a build to an environment through the race gate',
  help: `Usage: bake release <image> --env ENV [--build ID] [--allow-stale] [--rollback] [--allow-revoked]

Records a build (by default the image's newest) as the release live in ENV: its digest, its
version vector and its pinned service layers. The race gate refuses, with exit code 3, when
  stale       a service in the build has a newer committed version;
  regression  the release would move a service backwards from what ENV runs;
  conflict    its vector is incomparable with ENV's live one (the two images of a race);
  revoked     it holds a revoked version (bake revoke): --rollback does not override this.
Refusals name the service, both versions, and who committed the newer one when; a revoked one
names the reason, who revoked it when, and the version to use instead.

Options:
  --env ENV        the environment (required)
  --build ID       release this build instead of the newest
  --allow-stale    release a stale build anyway (recorded)
  --rollback       go back on purpose: allows regressions and conflicts (recorded)
  --allow-revoked  release it although it holds a revoked version (recorded)

JSON: {"env","image","build","release","digest","vector","serviceLayers","overrides","unchanged"}
Refused: exit 3 and {"error":{"kind":"stale"|"regression"|"conflict","service","have","want","committedBy","committedAt",...}}
  revoked: {"error":{"kind":"revoked","service","version","reason","revokedBy","revokedAt","use","have","want","revoked":[…]}}`,
  options: ['env', 'build', 'allow-stale', 'rollback', 'allow-revoked'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const [image, ...rest] = positionals;
    if (!image || rest.length > 0) throw new UsageError('bake release takes exactly one image (see bake release --help)');
    const env = values['env'];
    if (env === undefined) throw new UsageError('bake release: --env ENV is required');
    const build = values['build'];
    const result = await invoke(ctx, 'release', {
      image,
      env,
      ...(build !== undefined && { build }),
      ...(values['allow-stale'] === true && { allowStale: true }),
      ...(values['rollback'] === true && { rollback: true }),
      ...(values['allow-revoked'] === true && { allowRevoked: true }),
    });
    const overrides = result.overrides.map((o) => `  overridden (${o.flag}): ${o.kind} ${o.service} v${o.have}/v${o.want}`);
    return {
      json: result,
      human: [
        `${result.unchanged ? 'already live' : 'released'}: ${image}:${result.build} → ${env} (release ${result.release})`,
        `  ${result.digest}`,
        `  ${describeVector(result.vector)}`,
        ...overrides,
      ],
    };
  },
});
