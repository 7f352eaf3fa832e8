import { describeVector } from '../../manifest/vector.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const upgradeCommand = defineCommand({
  name: 'upgrade',
  summary: 'install newer committed versions into the running instances of a light environment',
  help: `Usage: bake upgrade --env ENV [SERVICE…]

For an environment running a light image (bake: light): the newest committed version of each
named service (default: every service with a newer one) goes through the race gate as a new
release (exit 3 when it refuses), then is installed into the running instances one at a time:
each is taken out of rotation, gets the new layers and pins, must answer healthy with the new
version, and comes back with the new release. A failure puts the old versions back on every
instance done (they stay installed) and marks the release rolled-back.

JSON: {"env","from","release","vector","changed":{service:[from,to]},"instances","unchanged"}`,
  options: ['env'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    if (values.env === undefined) throw new UsageError('bake upgrade: --env ENV is required');
    const env = values.env;
    const result = await interruptible(ctx, (c) => invoke(c, 'upgrade', { env, ...(positionals.length > 0 && { services: positionals }) }));
    const human = result.unchanged
      ? [`${result.env}: nothing newer to install (release ${result.from} runs ${describeVector(result.vector)})`]
      : [
          `${result.env}: upgraded in place to release ${result.release} on ${result.instances.length} instance(s)`,
          ...Object.entries(result.changed).map(([s, [a, b]]) => `  ${s} v${a} → v${b}`),
        ];
    return { json: result, human };
  },
});
