import { BakeError, ExitCode, UsageError } from '../../util/errors.js';
import { findRouter } from '../../deploy/router-process.js';
import type { Instance } from '../../router/route-table.js';
import { defineCommand } from '../command.js';
import { environmentConfig } from '../environment-runtime.js';

/** A toggle's requirement is not met yet by every live instance. */
class ToggleBlockedError extends BakeError {
  override name = 'ToggleBlockedError';
  override readonly kind: string = 'toggle-blocked';
  override readonly exitCode: number = ExitCode.refused;
  constructor(message: string, readonly blocking: { instance: string; service: string; have: number; want: number }[]) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { blocking: this.blocking };
  }
}

/** `catalog>=2,cart>=3` → [{service, version}] */
function parseRequires(text: string): { service: string; version: number }[] {
  return text.split(',').filter(Boolean).map((part) => {
    const match = /^([a-z0-9][a-z0-9-]*)>=(\d+)$/.exec(part.trim());
    if (!match) throw new UsageError(`bake toggle: --requires wants SERVICE>=VERSION[,…], got ${part}`);
    return { service: match[1] ?? '', version: Number(match[2]) };
  });
}

/** Live instances that run a service below the required version (dead instances do not count). */
function blockers(instances: Instance[], requires: { service: string; version: number }[]) {
  return instances.flatMap((i) =>
    i.healthy && !i.draining
      ? requires.flatMap((r) => {
          const have = i.vector[r.service];
          return have !== undefined && have < r.version ? [{ instance: i.id, service: r.service, have, want: r.version }] : [];
        })
      : [],
  );
}

export const toggleCommand = defineCommand({
  name: 'toggle',
  summary: 'flip a feature for every instance of an environment at once',
  help: `Usage: bake toggle FEATURE on|off --env ENV [--requires SERVICE>=N[,…]] [--wait SECONDS]

Turns a feature on or off at the environment's router, for all instances at once: the router
sends the enabled features to every instance in x-bake-features (and tags responses with it).
"on" with --requires is refused (exit 3) until every live instance that runs one of those
services runs at least that version, as the router's instance registry sees it (dead instances do
not block); --wait keeps checking for that long. "off" is immediate.

JSON: {"env","feature","on","toggles"}; blocked: {"error":{"kind":"toggle-blocked","blocking":[…]}}`,
  options: ['env', 'requires', 'wait'],
  service: 'refuse',
  positionals: true,
  async run(ctx, positionals, values) {
    const [feature, state, ...rest] = positionals;
    if (!feature || (state !== 'on' && state !== 'off') || rest.length > 0) throw new UsageError('bake toggle FEATURE on|off --env ENV (see bake toggle --help)');
    if (typeof values['env'] !== 'string') throw new UsageError('bake toggle: --env ENV is required');
    const { ws, env } = await environmentConfig(ctx, values['env']);
    const router = await findRouter(ws.dir, env.name);
    if (!router) throw new BakeError(`${env.name} is not running (no router): bake up ${env.name} first`);
    const requires = typeof values['requires'] === 'string' ? parseRequires(values['requires']) : [];
    const waitMs = (values['wait'] ?? 0) * 1000;
    if (state === 'on' && requires.length > 0) {
      const deadline = Date.now() + waitMs;
      for (;;) {
        const blocking = blockers((await router.client.state()).instances, requires);
        if (blocking.length === 0) break;
        if (Date.now() >= deadline) {
          const first = blocking[0];
          throw new ToggleBlockedError(
            `not turning ${feature} on in ${env.name}: instance ${first?.instance} still runs ${first?.service} v${first?.have} (needs >= v${first?.want})${blocking.length > 1 ? ` and ${blocking.length - 1} more` : ''}`,
            blocking,
          );
        }
        ctx.progress({ kind: 'step', message: `waiting for ${blocking.length} instance(s) to upgrade` });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await router.client.setToggle(feature, state === 'on');
    const toggles = (await router.client.state()).toggles;
    return { json: { env: env.name, feature, on: state === 'on', toggles }, human: [`${feature} is ${state} in ${env.name}`] };
  },
});
