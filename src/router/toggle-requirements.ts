import { BakeError, ExitCode, UsageError } from '../util/errors.js';
import type { Instance } from './route-table.js';

/**
 * When a feature may be turned on, as pure functions over the router's instance registry: a
 * toggle that requires `catalog>=3` waits until no live instance runs an older catalog.
 */

/** A toggle's requirement: every live instance running `service` runs at least `version`. */
export interface Requirement {
  service: string;
  version: number;
}

/**
 * What a live toggle asks of the versions: `requires`, and what a deploy, rollback or promote that
 * would run an instance below it does — `off` turns the toggle off first (recorded and reported),
 * `refuse` refuses the action (exit 3, naming the toggle).
 */
export interface ToggleRule {
  requires: Requirement[];
  conflict: 'off' | 'refuse';
}

/** The toggles an instance may see: those on whose requirements its versions meet. */
export function featuresFor(
  vector: Readonly<Record<string, number>>,
  toggles: Readonly<Record<string, boolean>>,
  rules: Readonly<Record<string, ToggleRule>>,
): string[] {
  return Object.entries(toggles)
    .filter(([name, on]) => on && unmet(vector, rules[name]?.requires ?? []).length === 0)
    .map(([name]) => name)
    .sort();
}

/** The requirements a version vector does not meet (a service it does not run cannot fail one). */
export function unmet(vector: Readonly<Record<string, number>>, requires: readonly Requirement[]): Requirement[] {
  return requires.filter((r) => vector[r.service] !== undefined && (vector[r.service] ?? 0) < r.version);
}

/** A live instance that keeps a toggle off: it runs `service` v`have`, the toggle needs `want`. */
export interface Blocker {
  instance: string;
  service: string;
  have: number;
  want: number;
}

/** `catalog>=2,cart>=3` → [{service, version}]; throws UsageError naming the part it cannot read. */
export function parseRequirements(text: string): Requirement[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const match = /^([a-z0-9][a-z0-9-]*)>=(\d+)$/.exec(part.trim());
      if (!match) throw new UsageError(`bake toggle: --requires wants SERVICE>=VERSION[,…], got ${part}`);
      return { service: match[1] ?? '', version: Number(match[2]) };
    });
}

/**
 * The instances that block the requirements: healthy, not draining, and running a required service
 * below the required version. Dead or draining instances do not count (they take no traffic), and
 * an instance that does not run the service at all cannot block it.
 */
export function blockers(instances: readonly Instance[], requires: readonly Requirement[]): Blocker[] {
  return instances.flatMap((i) =>
    i.healthy && !i.draining
      ? requires.flatMap((r) => {
          const have = i.vector[r.service];
          return have !== undefined && have < r.version ? [{ instance: i.id, service: r.service, have, want: r.version }] : [];
        })
      : [],
  );
}

/** A toggle's requirement is not met yet by every live instance: refused, exit 3. */
export class ToggleBlockedError extends BakeError {
  override name = 'ToggleBlockedError';
  override readonly kind: string = 'toggle-blocked';
  override readonly exitCode: number = ExitCode.refused;
  constructor(
    readonly feature: string,
    readonly env: string,
    readonly blocking: Blocker[],
  ) {
    const first = blocking[0];
    super(
      `not turning ${feature} on in ${env}: instance ${first?.instance} still runs ${first?.service} v${first?.have} (needs >= v${first?.want})` +
        (blocking.length > 1 ? ` and ${blocking.length - 1} more` : ''),
    );
  }
  override details(): Record<string, unknown> {
    return { blocking: this.blocking };
  }
}
