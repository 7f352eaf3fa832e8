import { assertFollows, type HistoryProof } from '../history/follows.js';
import { commitRefusalOf, HistoryRefusedError, type CommitRefusal } from '../history/history-refusal.js';
import { latestVersion, type CommittedVersion, type VersionManifest } from '../manifest/model.js';
import { markSupersededBuilds } from '../manifest/staleness.js';

/** A new version of a service, packed and ready to record: all of it but its number and generation. */
export interface Candidate {
  service: string;
  version: Omit<CommittedVersion, 'version' | 'generation' | 'recordedAt' | 'recordedBy'>;
  /** The history gate's input; absent: ordered by arrival (a directory source without --after). */
  gate?: {
    proof: HistoryProof;
    /** The revision the proof is about (null: the files carry no ancestry, only the precondition). */
    candidate: string | null;
    /**
     * Who made the proof, which decides what a `moved` (the latest changed since) becomes: `here`,
     * proved again by this process; `caller`, a remote caller's proof, refused unrecorded (the caller
     * proves again and retries); `user`, an explicit `--after`, refused and recorded.
     */
    provedBy: 'here' | 'caller' | 'user';
  };
}

/** What became of one candidate under the lock. */
export type Recorded =
  | { service: string; outcome: 'recorded' | 'unchanged'; version: CommittedVersion }
  | { service: string; outcome: 'refused'; refusal: CommitRefusal }
  | { service: string; outcome: 'prove-again' };

/**
 * Records candidates in `manifest` (the caller holds its lock): content equal to the latest
 * version is unchanged; anything else passes the history gate against the version that is latest
 * *now* — the compare-and-set that makes a proof made before the lock safe — or is refused, and
 * the refusal is recorded with the service. A `moved` proof made here is left out (`prove-again`)
 * unless `lastAttempt`. Mutates `manifest`; returns whether it must be written.
 */
export function recordCandidates(
  manifest: VersionManifest,
  candidates: readonly Candidate[],
  options: { actor: string; lastAttempt: boolean },
): { results: Recorded[]; write: boolean } {
  let recorded = false;
  let refused = false;
  const results = candidates.map((c): Recorded => {
    const latest = latestVersion(manifest, c.service);
    if (latest?.digest === c.version.digest) return { service: c.service, outcome: 'unchanged', version: latest };
    if (c.gate) {
      try {
        assertFollows(c.service, latest, c.gate.candidate, c.gate.proof);
      } catch (error) {
        if (!(error instanceof HistoryRefusedError)) throw error;
        const refusal = commitRefusalOf(error);
        if (error.kind === 'moved' && c.gate.provedBy === 'here' && !options.lastAttempt)
          return { service: c.service, outcome: 'prove-again' };
        if (error.kind === 'moved' && c.gate.provedBy === 'caller') return { service: c.service, outcome: 'refused', refusal };
        const history = (manifest.services[c.service] ??= { versions: [] });
        (history.refusals ??= []).push({
          at: new Date().toISOString(),
          by: options.actor,
          kind: refusal.kind,
          version: refusal.recorded.version,
          revision: refusal.recorded.revision,
          candidate: refusal.candidate,
          fix: refusal.fix,
          message: refusal.message,
        });
        refused = true;
        return { service: c.service, outcome: 'refused', refusal };
      }
    }
    const version: CommittedVersion = {
      version: (latest?.version ?? 0) + 1,
      ...c.version,
      recordedAt: new Date().toISOString(),
      recordedBy: options.actor,
      generation: manifest.generation + 1,
    };
    (manifest.services[c.service] ??= { versions: [] }).versions.push(version);
    recorded = true;
    return { service: c.service, outcome: 'recorded', version };
  });
  if (recorded) markSupersededBuilds(manifest);
  return { results, write: recorded || refused };
}
