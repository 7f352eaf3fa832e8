import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const downCommand = defineCommand({
  name: 'down',
  summary: 'remove everything an environment started (instances and its router)',
  help: `Usage: bake down [ENV]

Removes every container bake started for the environment, the images it loaded for the
environment's releases (unless a running container still uses one), and stops its router. The
manifest keeps the release history. ENV may be omitted when bake.yaml declares one environment.

JSON: {"env","containers","images","router"}`,
  options: [],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals) {
    if (positionals.length > 1) throw new UsageError('bake down takes at most one environment');
    const result = await invoke(ctx, 'down', { ...(positionals[0] !== undefined && { env: positionals[0] }) });
    return {
      json: result,
      human: [
        `${result.env}: removed ${result.containers.length} container(s), ${result.images.length} image(s)${result.router ? ', and stopped its router' : ''}`,
      ],
    };
  },
});
