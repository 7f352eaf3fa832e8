import { findEnvironmentRouter as findRouter } from './cluster-router.js';
import { ToggleConflictError } from '../deploy/rollout-errors.js';
import type { VersionVector } from '../manifest/model.js';
import { recordChange } from '../release/release-state.js';
import { unmet, unmetInterfaces } from '../router/toggle-requirements.js';
import { interfaceProviders } from '../compat/interface-providers.js';
import { readManifest } from '../store/manifest-access.js';
import type { AppContext } from './context.js';

/**
 * Keeps live toggles consistent with what will run: before a deploy, rollback, promote or upgrade,
 * every toggle that is on and whose requirements one of `vectors` (what will serve afterwards) does
 * not meet is either turned off first — recorded and reported, the chapter's rollback order — or,
 * when that toggle's policy is `refuse`, the action is refused with ToggleConflictError (exit 3,
 * naming the toggle) before anything changes. Returns the toggles turned off. Without a running
 * router there are no live toggles.
 */
export async function guardToggles(
  ctx: AppContext,
  workspace: string,
  env: string,
  vectors: readonly VersionVector[],
  action: string,
): Promise<string[]> {
  const router = await findRouter(workspace, env);
  if (!router) return [];
  const state = await router.client.state();
  const conflicts: { toggle: string; service: string; have: number; want: number; refuse: boolean; needs: string }[] = [];
  let manifest: Awaited<ReturnType<typeof readManifest>> | undefined;
  for (const [toggle, on] of Object.entries(state.toggles)) {
    let rule = state.toggleRules?.[toggle];
    if (!on || !rule) continue;
    if (rule.interfaces && rule.interfaces.length > 0) {
      // Versions committed since the toggle was set: the router learns what they provide before they run.
      manifest ??= await readManifest(workspace);
      const known = manifest;
      const fresh = rule.interfaces.map((i) => ({ ...i, providers: interfaceProviders(known, i.interface) }));
      if (JSON.stringify(fresh) !== JSON.stringify(rule.interfaces)) {
        rule = { ...rule, interfaces: fresh };
        await router.client.setToggle(toggle, true, rule);
      }
    }
    for (const vector of vectors) {
      const broken = unmet(vector, rule.requires)[0];
      const iface = broken ? undefined : unmetInterfaces(vector, rule.interfaces ?? [])[0];
      if (broken || iface) {
        conflicts.push({
          toggle,
          service: broken?.service ?? iface?.service ?? '',
          have: broken ? (vector[broken.service] ?? 0) : (iface?.have ?? 0),
          want: broken?.version ?? 0,
          refuse: rule.conflict === 'refuse',
          needs: broken ? `${broken.service}>=${broken.version}` : `${iface?.requirement.interface} ${iface?.requirement.range}`,
        });
        break;
      }
    }
  }
  const refused = conflicts.find((c) => c.refuse);
  if (refused) {
    throw new ToggleConflictError(
      `refusing the ${action} of ${env}: toggle ${refused.toggle} is on and requires ${refused.needs}, ` +
        `but it would run ${refused.service} v${refused.have}. Turn it off first (bake toggle ${refused.toggle} off --env ${env})`,
      refused.toggle,
      refused.service,
      refused.have,
      refused.want,
    );
  }
  for (const c of conflicts) {
    await router.client.setToggle(c.toggle, false);
    const message = `toggle ${c.toggle} off before the ${action}: it requires ${c.needs}, and ${c.service} v${c.have} will run`;
    ctx.progress({ kind: 'done', message: `${env}: ${message}` });
    await recordChange(
      workspace,
      env,
      { kind: 'toggle', message, detail: { toggle: c.toggle, on: false, reason: action } },
      { env: ctx.env },
    );
  }
  return conflicts.map((c) => c.toggle);
}
