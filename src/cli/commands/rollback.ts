import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const rollbackCommand = defineCommand({
  name: 'rollback',
  summary: 'return an environment to its previous release',
  help: `Usage: bake rollback --env ENV [--allow-revoked]

A release on probation (a blue/green whose old fleet is still up, a canary, A/B) is withdrawn:
traffic switches back to the instances still running at once (nothing restarts; switchedMs says
how long it took), then its instances are drained and removed. A committed release is replaced
by redeploying the previous release's build as a new release (blue-green, recorded with
--rollback), so what runs is again the previous digests. Live toggles the previous versions do
not meet are turned off first, or the rollback is refused (exit 3) for a toggle set with
--conflict refuse. It never goes back to a release that holds a revoked version (bake revoke):
that is refused with exit 3 (kind revoked) unless --allow-revoked is given, which is recorded.

JSON: {"env","from","to","digest","switchedMs"?,"togglesOff"?}; redeploy: also "build"`,
  options: ['env', 'allow-revoked'],
  service: 'refuse',
  positionals: false,
  async run(ctx, _positionals, values) {
    if (values.env === undefined) throw new UsageError('bake rollback: --env ENV is required');
    const env = values.env;
    const allowRevoked = values['allow-revoked'] === true;
    const result = await interruptible(ctx, (c) => invoke(c, 'rollback', { env, ...(allowRevoked && { allowRevoked }) }));
    const human =
      'build' in result
        ? `rolled ${result.env} back from release ${result.from} to build ${result.build} (release ${result.to}) ${result.digest}`
        : `withdrew release ${result.from} from ${result.env}${'switchedMs' in result && result.switchedMs !== undefined ? ` (traffic back in ${result.switchedMs} ms)` : ''}`;
    return { json: result, human: [human] };
  },
});
