import { findRouter } from '../deploy/router-process.js';
import { ToggleConflictError } from '../deploy/rollout-errors.js';
import type { VersionVector } from '../manifest/model.js';
import { recordChange } from '../release/release-state.js';
import { unmet } from '../router/toggle-requirements.js';
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
  const conflicts: { toggle: string; service: string; have: number; want: number; refuse: boolean }[] = [];
  for (const [toggle, on] of Object.entries(state.toggles)) {
    const rule = state.toggleRules?.[toggle];
    if (!on || !rule) continue;
    for (const vector of vectors) {
      const broken = unmet(vector, rule.requires)[0];
      if (broken) {
        conflicts.push({
          toggle,
          service: broken.service,
          have: vector[broken.service] ?? 0,
          want: broken.version,
          refuse: rule.conflict === 'refuse',
        });
        break;
      }
    }
  }
  const refused = conflicts.find((c) => c.refuse);
  if (refused) {
    throw new ToggleConflictError(
      `refusing the ${action} of ${env}: toggle ${refused.toggle} is on and requires ${refused.service}>=${refused.want}, ` +
        `but it would run ${refused.service} v${refused.have}. Turn it off first (bake toggle ${refused.toggle} off --env ${env})`,
      refused.toggle,
      refused.service,
      refused.have,
      refused.want,
    );
  }
  for (const c of conflicts) {
    await router.client.setToggle(c.toggle, false);
    const message = `toggle ${c.toggle} off before the ${action}: it requires ${c.service}>=${c.want}, and ${c.service} v${c.have} will run`;
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
