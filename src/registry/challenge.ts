/** A parsed `WWW-Authenticate` challenge from a registry. */
export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`; undefined for anything else. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const scheme = match?.[1]?.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const m of (match?.[2] ?? '').matchAll(/(\w+)=(?:"([^"]*)"|([^,\s]*))/g)) {
    if (m[1]) params[m[1].toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return { scheme, params };
}
