import type { CommittedVersion } from '../manifest/model.js';
import type { Ancestry } from './ancestry.js';
import { HistoryRefusedError, type HistoryRefusalDetails, type RecordedSide } from './history-refusal.js';

/**
 * What the caller proved about a candidate version before asking to record it: the latest version
 * it was compared with (the compare-and-set precondition) and how its revision relates to that
 * version's. The manifest records the candidate only while that version is still the latest.
 */
export interface HistoryProof {
  /** The latest version number the proof was made against; 0 when the service had none. */
  after: number;
  /** How the candidate's revision relates to that version's; absent for directory sources. */
  ancestry?: Ancestry;
}

/**
 * The recorded side of a committed version: number, revision, author, commit time, who recorded it
 * and when. What a refusal measures against, and what `latest` and the versions view report.
 */
export function recordedSide(latest: CommittedVersion): RecordedSide {
  return {
    version: latest.version,
    revision: latest.revision ?? null,
    author: latest.author ?? null,
    created: latest.created,
    recordedBy: latest.recordedBy,
    recordedAt: latest.recordedAt,
  };
}

/**
 * The history gate for one service (pure): throws HistoryRefusedError unless a candidate from
 * `candidate` may be recorded after `latest`, given the caller's proof. Order follows ancestry:
 * a git candidate must descend from the latest version's revision; any candidate must have been
 * proved against the version that is still the latest (else `moved`: prove again).
 */
export function assertFollows(service: string, latest: CommittedVersion | undefined, candidate: string | null, proof: HistoryProof): void {
  const latestNumber = latest?.version ?? 0;
  if (proof.after !== latestNumber) {
    throw refusal(
      'moved',
      service,
      latest,
      candidate,
      `${service} is at v${latestNumber} now, not v${proof.after}: look at what changed (bake log --service ${service}), then retry`,
    );
  }
  if (!latest?.revision || candidate === null) return; // a directory on either side: ordered by the precondition alone
  switch (proof.ancestry) {
    case 'descends':
      return;
    case 'behind':
    case 'missing':
      throw refusal(
        'behind',
        service,
        latest,
        candidate,
        `git pull (or fetch and rebase) so your checkout contains ${latest.revision.slice(0, 12)}, then commit again`,
      );
    case 'diverged':
      throw refusal(
        'diverged',
        service,
        latest,
        candidate,
        `merge ${latest.revision.slice(0, 12)} into your branch (git pull), resolve ${service}, then commit again`,
      );
    case undefined:
      throw refusal(
        'behind',
        service,
        latest,
        candidate,
        'the caller did not prove the ancestry of its revision: use a bake client that does',
      );
  }
}

function refusal(
  kind: HistoryRefusalDetails['kind'],
  service: string,
  latest: CommittedVersion | undefined,
  candidate: string | null,
  fix: string,
): HistoryRefusedError {
  const recorded: RecordedSide = latest
    ? recordedSide(latest)
    : { version: 0, revision: null, author: null, created: '', recordedBy: '', recordedAt: '' };
  return new HistoryRefusedError({ kind, service, recorded, candidate, fix });
}
