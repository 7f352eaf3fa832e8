import type { DeclarationLookup } from './declarations.js';
import { majorSatisfies } from './semver-range.js';
import type { CompatibilityWindow } from './windows.js';

/** A requirement some running consumer would have unmet, in the windows where that happens. */
export interface CompatibilityProblem {
  consumer: { service: string; version: number };
  interface: string;
  range: string;
  /** The running provider outside the range (`major` null: that version does not provide it); absent: nothing running provides it. */
  provider?: { service: string; version: number; major: number | null };
  /** The first window it occurs in, and every window it occurs in. */
  window: string;
  windows: string[];
}

/**
 * Every requirement unmet in some window. In a window, a consumer version requiring interface I
 * within range R may reach every running version of every service that provides I in that window
 * (the router balances over all of them), so each of those versions must provide I with a major
 * in R, and at least one must run. Windows that run the same versions are judged once. Pure.
 */
export function checkCompatibility(windows: readonly CompatibilityWindow[], declared: DeclarationLookup): CompatibilityProblem[] {
  const found = new Map<string, CompatibilityProblem>();
  const judged = new Map<string, Omit<CompatibilityProblem, 'window' | 'windows'>[]>();
  for (const window of windows) {
    const versions = new Map<string, Set<number>>();
    for (const group of window.running) {
      for (const [service, version] of Object.entries(group.vector)) {
        let set = versions.get(service);
        if (!set) versions.set(service, (set = new Set()));
        set.add(version);
      }
    }
    const key = [...versions].map(([s, vs]) => `${s}@${[...vs].sort((a, b) => a - b).join('.')}`).sort().join(' ');
    let problems = judged.get(key);
    if (!problems) judged.set(key, (problems = judge(versions, declared)));
    for (const problem of problems) {
      const id = `${problem.consumer.service}@${problem.consumer.version} ${problem.interface} ${problem.provider?.service ?? ''}@${problem.provider?.version ?? ''}`;
      const seen = found.get(id);
      if (seen) seen.windows.push(window.name);
      else found.set(id, { ...problem, window: window.name, windows: [window.name] });
    }
  }
  return [...found.values()];
}

function judge(versions: ReadonlyMap<string, ReadonlySet<number>>, declared: DeclarationLookup): Omit<CompatibilityProblem, 'window' | 'windows'>[] {
  const providers = new Map<string, Set<string>>();
  for (const [service, set] of versions) {
    for (const version of set) {
      for (const name of Object.keys(declared(service, version)?.provides ?? {})) {
        let p = providers.get(name);
        if (!p) providers.set(name, (p = new Set()));
        p.add(service);
      }
    }
  }
  const problems: Omit<CompatibilityProblem, 'window' | 'windows'>[] = [];
  for (const [service, set] of versions) {
    for (const version of set) {
      for (const [name, range] of Object.entries(declared(service, version)?.requires ?? {})) {
        const consumer = { service, version };
        const offering = providers.get(name);
        if (!offering) {
          problems.push({ consumer, interface: name, range });
          continue;
        }
        for (const provider of offering) {
          for (const pv of versions.get(provider) ?? []) {
            const major = declared(provider, pv)?.provides?.[name];
            if (major === undefined) problems.push({ consumer, interface: name, range, provider: { service: provider, version: pv, major: null } });
            else if (!majorSatisfies(major, range)) problems.push({ consumer, interface: name, range, provider: { service: provider, version: pv, major } });
          }
        }
      }
    }
  }
  return problems;
}

/** One problem in words: "web v3 requires orders-api >=2 <4, but orders v5 provides orders-api 4". */
export function describeProblem(p: CompatibilityProblem): string {
  const who = `${p.consumer.service} v${p.consumer.version} requires ${p.interface} ${p.range}`;
  if (!p.provider) return `${who}, but no running service provides ${p.interface}`;
  const { service, version, major } = p.provider;
  return major === null
    ? `${who}, but ${service} v${version} does not provide ${p.interface}`
    : `${who}, but ${service} v${version} provides ${p.interface} ${major}`;
}
