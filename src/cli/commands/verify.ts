import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';

export const verifyCommand = defineCommand({
  name: 'verify',
  summary: "run an environment's test command against it",
  help: `Usage: bake verify [ENV]

Runs the environment's test: command (from bake.yaml) in the workspace, with BAKE_URL_<SERVICE>
set to each router URL (for example BAKE_URL_WEB=http://127.0.0.1:18080). Exit 0 when it passes,
1 with its output when it fails. Like kitchen verify.

JSON: {"env","passed","output"}`,
  options: [],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals) {
    if (positionals.length > 1) throw new UsageError('bake verify takes at most one environment');
    const result = await invoke(ctx, 'verify', { ...(positionals[0] !== undefined && { env: positionals[0] }) });
    return { json: result, human: [result.output.trimEnd(), `${result.env}: verified`].filter(Boolean) };
  },
});
