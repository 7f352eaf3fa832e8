import { parseRequirements } from '../../router/toggle-requirements.js';
import { UsageError } from '../../util/errors.js';
import { defineCommand } from '../command.js';
import { interruptible } from '../interruptible.js';
import { invoke } from '../invoke.js';

export const toggleCommand = defineCommand({
  name: 'toggle',
  summary: 'flip a feature for every instance of an environment at once',
  help: `Usage: bake toggle FEATURE on|off --env ENV [--requires SERVICE|INTERFACE>=N[,…]] [--wait SECONDS] [--conflict off|refuse]

Turns a feature on or off at the environment's router, for all instances at once: the router
sends the enabled features to every instance in x-bake-features (and tags responses with it).
"on" with --requires is refused (exit 3) until every live instance that runs one of those
services runs at least that version, as the router's instance registry sees it (dead instances do
not block); --wait keeps checking for that long (at most 86400 seconds). "off" is immediate.
A name that is no service of bake.yaml is an interface (--requires orders-api>=3): every live
instance of a service providing it must provide that major or a later one.
The requirements stay with the toggle: the router sends it only to instances that meet them, and
a later deploy, rollback, promote or upgrade that would run an older version either turns the
toggle off first, recorded and reported (--conflict off, the default), or is refused with exit 3
naming the toggle (--conflict refuse).

JSON: {"env","feature","on","toggles"}; blocked: {"error":{"kind":"toggle-blocked","blocking":[…]}}`,
  options: ['env', 'requires', 'wait', 'conflict'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    const [feature, state, ...rest] = positionals;
    if (!feature || (state !== 'on' && state !== 'off') || rest.length > 0)
      throw new UsageError('bake toggle FEATURE on|off --env ENV (see bake toggle --help)');
    if (values.env === undefined) throw new UsageError('bake toggle: --env ENV is required');
    const env = values.env;
    const result = await interruptible(ctx, (c) =>
      invoke(c, 'toggle', {
        env,
        feature,
        on: state === 'on',
        ...(values.requires !== undefined && { requires: parseRequirements(values.requires) }),
        ...(values.wait !== undefined && { waitSeconds: values.wait }),
        ...(values.conflict !== undefined && { conflict: values.conflict }),
      }),
    );
    return { json: result, human: [`${feature} is ${state} in ${result.env}`] };
  },
});
