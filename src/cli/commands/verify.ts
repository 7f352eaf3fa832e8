import { BakeError, UsageError } from '../../util/errors.js';
import { findRouter } from '../../deploy/router-process.js';
import { runShell } from '../../util/exec.js';
import { defineCommand } from '../command.js';
import { environmentConfig } from '../environment-runtime.js';

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
    const { ws, env } = await environmentConfig(ctx, positionals[0]);
    if (!env.test) throw new UsageError(`environment ${env.name} has no test: command in bake.yaml`);
    const router = await findRouter(ws.dir, env.name);
    if (!router) throw new BakeError(`${env.name} is not running: bake up ${env.name} first`);
    const urls = Object.fromEntries(Object.entries(router.info.listeners).map(([s, p]) => [`BAKE_URL_${s.toUpperCase().replace(/-/g, '_')}`, `http://127.0.0.1:${p}`]));
    const { output, exitCode } = await runShell(env.test, { cwd: ws.dir, env: urls });
    if (exitCode !== 0) throw new BakeError(`verify ${env.name}: the test command exited with ${exitCode}:\n${output.trimEnd()}`);
    return { json: { env: env.name, passed: true, output }, human: [output.trimEnd(), `${env.name}: verified`].filter(Boolean) };
  },
});
