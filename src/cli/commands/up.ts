import { describeVector } from '../../manifest/vector.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const upCommand = defineCommand({
  name: 'up',
  summary: 'bring an environment up locally: bake, release, run behind its router',
  help: `Usage: bake up [ENV] [--dev]

Like vagrant up or kitchen converge, for a production-like environment on the local Docker
engine: commits the image's services, bakes it, releases it through the race gate and rolls it
out with the environment's strategy behind its router on 127.0.0.1. Running it again updates the
environment. --dev bakes from the working trees, uncommitted edits included, and marks the image
dev; only environments with dev: true accept it. ENV may be omitted when there is one.

Then: bake verify [ENV] runs its test command; bake down [ENV] removes it.

JSON: the deploy's {"env","image","build","release","digest","vector","strategy","state","router"}`,
  options: ['dev'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    if (positionals.length > 1) throw new UsageError('bake up takes at most one environment');
    const result = await interruptible(ctx, (c) =>
      invoke(c, 'up', { ...(positionals[0] !== undefined && { env: positionals[0] }), dev: values.dev === true }),
    );
    return {
      json: result,
      human: [
        `${result.env} is up: ${result.image}:${result.build}${result.dev ? ' (dev)' : ''} ${describeVector(result.vector)}`,
        ...Object.entries(result.router).map(([s, url]) => `  ${s}: ${url}`),
      ],
    };
  },
});
