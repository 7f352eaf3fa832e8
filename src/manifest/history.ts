import type { VersionManifest } from './model.js';

/** One line of history: what happened, when, by whom. */
export interface HistoryEvent {
  at: string;
  by: string;
  kind: 'commit' | 'commit-refusal' | 'build' | 'release' | 'refusal' | 'interrupted' | 'change' | 'revoke' | 'unrevoke' | 'push';
  subject: string;
  detail: Record<string, unknown>;
  summary: string;
}

export interface HistoryFilter {
  service?: string;
  image?: string;
  env?: string;
}

/**
 * The manifest's records as one time-ordered story — commits, builds (with staleness), pushes,
 * releases and refusals — so an operator can see what raced with what.
 */
export function historyOf(manifest: VersionManifest, filter: HistoryFilter = {}): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const vec = (v: Record<string, number>) =>
    Object.entries(v)
      .map(([s, n]) => `${s} v${n}`)
      .join(', ');
  for (const [service, history] of Object.entries(manifest.services)) {
    if (filter.image || filter.env) break;
    if (filter.service && filter.service !== service) continue;
    for (const v of history.versions) {
      events.push({
        at: v.recordedAt,
        by: v.recordedBy,
        kind: 'commit',
        subject: `${service} v${v.version}`,
        detail: { service, version: v.version, digest: v.digest, revision: v.revision ?? null, author: v.author ?? null },
        summary: `commit ${service} v${v.version}${v.revision ? ` rev ${v.revision.slice(0, 12)}` : ''}${v.author ? ` by ${v.author}` : ''}`,
      });
    }
    for (const f of history.refusals ?? []) {
      const from = f.candidate ? `rev ${f.candidate.slice(0, 12)}` : 'a directory';
      events.push({
        at: f.at,
        by: f.by,
        kind: 'commit-refusal',
        subject: service,
        detail: { ...f, service },
        summary: `REFUSED commit ${service} from ${from}: ${f.kind} (latest v${f.version}${f.revision ? ` rev ${f.revision.slice(0, 12)}` : ''})`,
      });
    }
    for (const r of history.revocations ?? []) {
      const via = r.via !== undefined ? ` (with v${r.via} --and-older)` : '';
      events.push({
        at: r.at,
        by: r.by,
        kind: r.revoked ? 'revoke' : 'unrevoke',
        subject: `${service} v${r.version}`,
        detail: { ...r, service },
        summary: `${r.revoked ? 'REVOKED' : 'unrevoked'} ${service} v${r.version}${via}${r.reason ? `: ${r.reason}` : ''}`,
      });
    }
  }
  for (const [image, builds] of Object.entries(manifest.builds)) {
    if (filter.env || (filter.image && filter.image !== image)) continue;
    for (const b of builds) {
      if (filter.service && b.vector[filter.service] === undefined) continue;
      const stale = b.supersededBy?.length
        ? ` — stale: ${b.supersededBy.map((s) => `${s.service} v${s.have} < v${s.latest}`).join(', ')}`
        : '';
      events.push({
        at: b.builtAt,
        by: b.builtBy,
        kind: 'build',
        subject: `${image}:${b.id}`,
        detail: { image, build: b.id, digest: b.digest, vector: b.vector, status: b.status, supersededBy: b.supersededBy ?? [] },
        summary: `build ${image}:${b.id} {${vec(b.vector)}} ${b.digest.slice(0, 19)}${stale}`,
      });
      for (const p of b.pushes ?? []) {
        events.push({
          at: p.at,
          by: p.by,
          kind: 'push',
          subject: `${image}:${b.id}`,
          detail: { ...p, image, build: b.id, storeDigest: b.digest },
          summary: `push ${image}:${b.id} → ${p.reference}${p.compressed ? ' (compressed)' : ''}`,
        });
      }
    }
  }
  for (const [env, record] of Object.entries(manifest.environments)) {
    if (filter.env && filter.env !== env) continue;
    for (const r of record.releases) {
      if (filter.image && filter.image !== r.image) continue;
      if (filter.service && r.vector[filter.service] === undefined) continue;
      const over = r.overrides.length ? ` (overrode ${r.overrides.map((o) => `${o.kind} ${o.service} with ${o.flag}`).join(', ')})` : '';
      events.push({
        at: r.at,
        by: r.by,
        kind: 'release',
        subject: `${env}#${r.id}`,
        detail: { ...r },
        summary: `release ${r.image}:${r.build} → ${env} {${vec(r.vector)}}${over}`,
      });
    }
    for (const c of record.changes ?? []) {
      if (filter.service) continue;
      const release = c.release === undefined ? undefined : record.releases.find((r) => r.id === c.release);
      if (filter.image && release && filter.image !== release.image) continue;
      events.push({
        at: c.at,
        by: c.by,
        kind: 'change',
        subject: c.release === undefined ? env : `${env}#${c.release}`,
        detail: { ...c, env },
        summary: `${c.kind === 'state' ? 'state' : c.kind} ${env}: ${c.message}`,
      });
    }
    for (const f of record.refusals) {
      if (filter.image && filter.image !== f.image) continue;
      if (filter.service && filter.service !== f.service) continue;
      events.push({
        at: f.at,
        by: f.by,
        kind: 'refusal',
        subject: `${f.image}:${f.build} → ${env}`,
        detail: { ...f, env },
        summary: `REFUSED ${f.image}:${f.build} → ${env}: ${f.kind} ${f.service} have v${f.have} want v${f.want}`,
      });
    }
  }
  for (const job of filter.env || filter.image || filter.service ? [] : (manifest.interrupted ?? [])) {
    events.push({
      at: job.detectedAt,
      by: 'bake serve',
      kind: 'interrupted',
      subject: job.argv.join(' '),
      detail: { ...job },
      summary: `FAILED (interrupted by a service crash; started ${job.startedAt}): bake ${job.argv.join(' ')}`,
    });
  }
  return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
