import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const promoteCommand = defineCommand({
  name: 'promote',
  summary: 'finish a canary or A/B deploy: the new release takes all traffic',
  help: `Usage: bake promote --env ENV

The release on probation (a canary or A/B deploy) gets the environment's full replica count,
the other releases' instances are drained and retired, and the release is committed. A
blue/green on probation retires its idle old fleet now; a blue/green preview switches traffic to
the new fleet (and keeps the old one for probation seconds, when set).

JSON: {"env","release","state":"committed"|"probation","probationUntil"?,"togglesOff"?}`,
  options: ['env'],
  service: 'refuse',
  positionals: false,
  async run(ctx, _positionals, values) {
    if (values.env === undefined) throw new UsageError('bake promote: --env ENV is required');
    const env = values.env;
    const result = await interruptible(ctx, (c) => invoke(c, 'promote', { env }));
    const how = result.state === 'committed' ? '' : ` (switched; the old fleet stays idle until ${result.probationUntil})`;
    return { json: result, human: [`promoted release ${result.release} in ${result.env}${how}`] };
  },
});
