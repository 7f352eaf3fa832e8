import { reasonProblem } from '../../revoke/revocation-change.js';
import { InputError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { invoke } from '../invoke.js';
import { renderRevocation, serviceAndVersion } from './revoke.js';

export const unrevokeCommand = defineCommand({
  name: 'unrevoke',
  summary: 'lift the revocation of a service version',
  help: `Usage: bake unrevoke SERVICE VERSION [--reason TEXT]

Lifts a revocation (bake revoke), recorded like it: who, when and why. The revocation stays in
the history (bake log). Builds and releases that hold the version pass the gate again. The
hooks of bake.yaml (hooks.revoked, hooks.webhook) are told, with "event": "unrevoked".

Options:
  --reason TEXT   why it is allowed again (recorded)

JSON: as bake revoke, with "event":"unrevoked"`,
  options: ['reason'],
  service: 'forward',
  positionals: true,
  async run(ctx, positionals, values) {
    const { service, version } = serviceAndVersion('unrevoke', positionals);
    const problem = reasonProblem(values.reason, false);
    if (problem) throw new InputError([problem]);
    const result = await invoke(ctx, 'unrevoke', { service, version, ...(values.reason !== undefined && { reason: values.reason }) });
    return { json: result, human: renderRevocation(result) };
  },
});
