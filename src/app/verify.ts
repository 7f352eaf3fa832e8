import { findRouter } from '../deploy/router-process.js';
import { BakeError, UsageError } from '../util/errors.js';
import { runShell } from '../util/exec.js';
import type { AppContext } from './context.js';
import { environmentConfig } from './environment-runtime.js';

export interface VerifyOptions {
  /** The environment; may be omitted when bake.yaml declares one. */
  env?: string;
}

/** What `bake verify --json` prints; a failing test is a BakeError instead. */
export interface VerifyResult {
  env: string;
  passed: true;
  output: string;
}

/**
 * Runs the environment's `test:` command in the workspace with BAKE_URL_<SERVICE> set to each
 * router URL. Throws UsageError when it declares no test, BakeError when it is not running or
 * the test fails (with the test's output).
 */
export async function verify(ctx: AppContext, options: VerifyOptions = {}): Promise<VerifyResult> {
  const { ws, env } = await environmentConfig(ctx, options.env);
  if (!env.test) throw new UsageError(`environment ${env.name} has no test: command in bake.yaml`);
  const router = await findRouter(ws.dir, env.name);
  if (!router) throw new BakeError(`${env.name} is not running: bake up ${env.name} first`);
  const urls = Object.fromEntries(
    Object.entries(router.info.listeners).map(([s, p]) => [`BAKE_URL_${s.toUpperCase().replace(/-/g, '_')}`, `http://127.0.0.1:${p}`]),
  );
  const { output, exitCode } = await runShell(env.test, { cwd: ws.dir, env: urls });
  if (exitCode !== 0) throw new BakeError(`verify ${env.name}: the test command exited with ${exitCode}:\n${output.trimEnd()}`);
  return { env: env.name, passed: true, output };
}
