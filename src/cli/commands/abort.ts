import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const abortCommand = defineCommand({
  name: 'abort',
  summary: 'withdraw a canary, A/B or blue/green rollout by hand',
  help: `Usage: bake abort --env ENV

Withdraws the rollout on probation (a canary, an A/B, a blue/green whose old fleet is still up, a
preview): traffic goes back to the release before it, its instances are retired, and the abort is
recorded with the router's figures, so bake status says why it stopped. bake deploy --retry
starts the same build again.

JSON: {"env","release","to","stopped":{"reason","message","figures","at","by"}}`,
  options: ['env'],
  service: 'refuse',
  positionals: false,
  async run(ctx, _positionals, values) {
    if (values.env === undefined) throw new UsageError('bake abort: --env ENV is required');
    const env = values.env;
    const result = await interruptible(ctx, (c) => invoke(c, 'abort', { env }));
    return {
      json: result,
      human: [`aborted release ${result.release} in ${result.env}${result.to !== null ? `; release ${result.to} serves` : ''}`],
    };
  },
});
