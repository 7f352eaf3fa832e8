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
  // Windows share their vectors (the old release's, the new one's): a window is known by which of them run.
  const vectorIds = new Map<object, number>();
  for (const window of windows) {
    const key = [...new Set(window.running.map((g) => vectorIds.get(g.vector) ?? vectorIds.set(g.vector, vectorIds.size).size - 1))]
      .sort((a, b) => a - b)
      .join(' ');
    let problems = judged.get(key);
    if (!problems) judged.set(key, (problems = judge(window, declared)));
    for (const problem of problems) {
      const id = `${problem.consumer.service}@${problem.consumer.version} ${problem.interface} ${problem.provider?.service ?? ''}@${problem.provider?.version ?? ''}`;
      const seen = found.get(id);
      if (seen) seen.windows.push(window.name);
      else found.set(id, { ...problem, window: window.name, windows: [window.name] });
    }
  }
  return [...found.values()];
}

type Provider = { service: string; version: number; major: number | null };

function judge(window: CompatibilityWindow, declared: DeclarationLookup): Omit<CompatibilityProblem, 'window' | 'windows'>[] {
  const versions = new Map<string, Set<number>>();
  for (const group of window.running) {
    for (const service in group.vector) {
      const version = group.vector[service] ?? 0;
      const set = versions.get(service);
      if (set) set.add(version);
      else versions.set(service, new Set([version]));
    }
  }
  // Interface → every running version of every service that provides it, with its major.
  const providers = new Map<string, Provider[]>();
  let someVersionsDiffer = false;
  for (const [service, set] of versions) {
    if (set.size > 1) someVersionsDiffer = true;
    for (const version of set) {
      const provides = declared(service, version)?.provides;
      for (const name in provides) {
        const entry = { service, version, major: provides[name] ?? null };
        const list = providers.get(name);
        if (list) list.push(entry);
        else providers.set(name, [entry]);
      }
    }
  }
  // A running version of a provider that does not provide the interface (any more) is a provider too: of nothing.
  if (someVersionsDiffer) {
    for (const list of providers.values()) {
      const only = list[0]?.service;
      if (list.every((p) => p.service === only) && list.length === versions.get(only ?? '')?.size) continue;
      for (const service of new Set(list.map((p) => p.service))) {
        for (const version of versions.get(service) ?? []) {
          if (!list.some((p) => p.service === service && p.version === version)) list.push({ service, version, major: null });
        }
      }
    }
  }
  const problems: Omit<CompatibilityProblem, 'window' | 'windows'>[] = [];
  for (const [service, set] of versions) {
    for (const version of set) {
      const requires = declared(service, version)?.requires;
      for (const name in requires) {
        const range = requires[name] ?? '';
        const offered = providers.get(name);
        if (!offered) {
          problems.push({ consumer: { service, version }, interface: name, range });
          continue;
        }
        for (const provider of offered) {
          if (provider.major === null || !majorSatisfies(provider.major, range)) {
            problems.push({ consumer: { service, version }, interface: name, range, provider });
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
