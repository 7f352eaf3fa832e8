import { BakeError, ExitCode, UsageError } from '../util/errors.js';
import type { Instance } from './route-table.js';
import type { ProviderTable } from '../compat/interface-providers.js';
import { majorSatisfies } from '../compat/semver-range.js';

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
  /** Interface requirements (`--requires orders-api>=3`), each with the table of which version provides what. */
  interfaces?: InterfaceRequirement[];
}

/**
 * A toggle's interface requirement: every live instance running a service that provides
 * `interface` runs a version whose major is within `range`. `providers` (from the manifest, kept
 * fresh by every deploy) says which version provides what; a version it does not know fails it.
 */
export interface InterfaceRequirement {
  interface: string;
  range: string;
  providers: ProviderTable;
}

/** The interface requirements a vector does not meet, with the provider version that fails each. */
export function unmetInterfaces(
  vector: Readonly<Record<string, number>>,
  interfaces: readonly InterfaceRequirement[],
): { requirement: InterfaceRequirement; service: string; have: number; major: number | null }[] {
  return interfaces.flatMap((requirement) =>
    Object.entries(requirement.providers).flatMap(([service, versions]) => {
      const have = vector[service];
      if (have === undefined) return [];
      const major = versions[String(have)] ?? null;
      return major !== null && majorSatisfies(major, requirement.range) ? [] : [{ requirement, service, have, major }];
    }),
  );
}

/** The toggles an instance may see: those on whose requirements its versions meet. */
export function featuresFor(
  vector: Readonly<Record<string, number>>,
  toggles: Readonly<Record<string, boolean>>,
  rules: Readonly<Record<string, ToggleRule>>,
): string[] {
  return Object.entries(toggles)
    .filter(
      ([name, on]) =>
        on &&
        unmet(vector, rules[name]?.requires ?? []).length === 0 &&
        unmetInterfaces(vector, rules[name]?.interfaces ?? []).length === 0,
    )
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
  /** For an interface requirement: the interface, the range, and the major `have` provides (null: none). */
  interface?: { name: string; range: string; major: number | null };
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
export function blockers(
  instances: readonly Instance[],
  requires: readonly Requirement[],
  interfaces: readonly InterfaceRequirement[] = [],
): Blocker[] {
  return instances.flatMap((i) =>
    i.healthy && !i.draining
      ? [
          ...requires.flatMap((r) => {
            const have = i.vector[r.service];
            return have !== undefined && have < r.version ? [{ instance: i.id, service: r.service, have, want: r.version }] : [];
          }),
          ...unmetInterfaces(i.vector, interfaces).map((u) => ({
            instance: i.id,
            service: u.service,
            have: u.have,
            want: 0,
            interface: { name: u.requirement.interface, range: u.requirement.range, major: u.major },
          })),
        ]
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
    const needs = first?.interface
      ? `, which provides ${first.interface.major === null ? `no ${first.interface.name}` : `${first.interface.name} ${first.interface.major}`} (needs ${first.interface.name} ${first.interface.range})`
      : ` (needs >= v${first?.want})`;
    super(
      `not turning ${feature} on in ${env}: instance ${first?.instance} still runs ${first?.service} v${first?.have}${needs}` +
        (blocking.length > 1 ? ` and ${blocking.length - 1} more` : ''),
    );
  }
  override details(): Record<string, unknown> {
    return { blocking: this.blocking };
  }
}
