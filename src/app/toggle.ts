import { setTimeout as sleep } from 'node:timers/promises';
import { findEnvironmentRouter as findRouter } from './cluster-router.js';
import { interfaceProviders } from '../compat/interface-providers.js';
import type { WorkspaceConfig } from '../config/types.js';
import { readManifest } from '../store/manifest-access.js';
import { blockers, ToggleBlockedError, type InterfaceRequirement, type Requirement } from '../router/toggle-requirements.js';
import { recordChange } from '../release/release-state.js';
import { BakeError, UsageError } from '../util/errors.js';
import type { AppContext } from './context.js';
import { environmentConfig } from './environment-runtime.js';

/** The longest `waitSeconds` accepted: a day, as the command line's --wait. */
export const MAX_TOGGLE_WAIT_SECONDS = 86_400;
const POLL_MS = 250;

export interface ToggleOptions {
  env: string;
  feature: string;
  on: boolean;
  /**
   * Turning on waits until every live instance running one of these services runs at least that
   * version. A name that is no service of bake.yaml but an interface some version provides
   * (`orders-api>=3`) requires that interface: every live provider's major at least that.
   */
  requires?: Requirement[];
  /** How long to keep checking the requirements before refusing (0 to MAX_TOGGLE_WAIT_SECONDS; default 0). */
  waitSeconds?: number;
  /**
   * What a later deploy, rollback, promote or upgrade that would run a version below `requires`
   * does: `off` (default) turns this toggle off first, recorded and reported; `refuse` refuses it (exit 3).
   */
  conflict?: 'off' | 'refuse';
}

/** What `bake toggle --json` prints. */
export interface ToggleResult {
  env: string;
  feature: string;
  on: boolean;
  /** Every toggle of the environment's router after the change. */
  toggles: Record<string, boolean>;
}

/**
 * Turns a feature on or off at the environment's router, for all instances at once. "On" with
 * requirements is refused with ToggleBlockedError (exit 3) while a live instance runs an older
 * version, after waiting up to `waitSeconds` for it to go; the wait is bounded and ends early
 * when ctx.signal aborts. The requirements and the conflict policy stay with the toggle: the router
 * sends it only to instances that meet them, and later deploys keep them (see guardToggles). Every
 * flip is recorded in the history. Throws UsageError for a bad wait, BakeError when the router is not running.
 */
export async function toggle(ctx: AppContext, options: ToggleOptions): Promise<ToggleResult> {
  const wait = options.waitSeconds ?? 0;
  if (!Number.isFinite(wait) || wait < 0 || wait > MAX_TOGGLE_WAIT_SECONDS) {
    throw new UsageError(`bake toggle: --wait takes a number of seconds from 0 to ${MAX_TOGGLE_WAIT_SECONDS}, got ${wait}`);
  }
  const { ws, env } = await environmentConfig(ctx, options.env);
  const router = await findRouter(ws.dir, env.name);
  if (!router) throw new BakeError(`${env.name} is not running (no router): bake up ${env.name} first`);
  const { requires, interfaces } = await resolveRequirements(ws, options.requires ?? []);
  if (options.on && requires.length + interfaces.length > 0) {
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const blocking = blockers((await router.client.state()).instances, requires, interfaces);
      if (blocking.length === 0) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new ToggleBlockedError(options.feature, env.name, blocking);
      ctx.progress({ kind: 'step', message: `waiting for ${blocking.length} instance(s) to upgrade` });
      await sleep(Math.min(POLL_MS, left), undefined, ctx.signal ? { signal: ctx.signal } : {});
    }
  }
  const rule =
    options.on && requires.length + interfaces.length > 0
      ? { requires, conflict: options.conflict ?? 'off', ...(interfaces.length > 0 && { interfaces }) }
      : undefined;
  await router.client.setToggle(options.feature, options.on, rule);
  const toggles = (await router.client.state()).toggles;
  const named = [...requires.map((r) => `${r.service}>=${r.version}`), ...interfaces.map((i) => `${i.interface} ${i.range}`)];
  const needs = rule ? ` (requires ${named.join(', ')}; on conflict: ${rule.conflict})` : '';
  await recordChange(
    ws.dir,
    env.name,
    {
      kind: 'toggle',
      message: `toggle ${options.feature} ${options.on ? 'on' : 'off'}${needs}`,
      detail: { toggle: options.feature, on: options.on, ...(rule && { rule }) },
    },
    { env: ctx.env },
  );
  return { env: env.name, feature: options.feature, on: options.on, toggles };
}

/**
 * Splits `--requires` into service requirements (a service of bake.yaml) and interface ones (an
 * interface some committed version provides: `orders-api>=3` is the range `>=3` over its majors).
 * Throws UsageError for a name that is neither.
 */
async function resolveRequirements(
  ws: WorkspaceConfig,
  named: readonly Requirement[],
): Promise<{ requires: Requirement[]; interfaces: InterfaceRequirement[] }> {
  const requires = named.filter((r) => ws.services.has(r.service));
  const rest = named.filter((r) => !ws.services.has(r.service));
  if (rest.length === 0) return { requires, interfaces: [] };
  const manifest = await readManifest(ws.dir);
  const interfaces = rest.map((r): InterfaceRequirement => {
    const providers = interfaceProviders(manifest, r.service);
    if (Object.keys(providers).length === 0) {
      throw new UsageError(
        `bake toggle: --requires ${r.service}>=${r.version}: no service or interface named ${r.service} ` +
          `(services: ${[...ws.services.keys()].join(', ')}; an interface must be provided by some committed version)`,
      );
    }
    return { interface: r.service, range: `>=${r.version}`, providers };
  });
  return { requires, interfaces };
}
