import { BakeError, ExitCode } from '../util/errors.js';

/** Why a new version of a service was not recorded: the caller's history does not follow the recorded one. */
export type HistoryRefusalKind = 'behind' | 'diverged' | 'moved';

/** The version a refusal is measured against: what the manifest holds as latest. */
export interface RecordedSide {
  version: number;
  revision: string | null;
  author: string | null;
  /** Commit time of the recorded revision (RFC 3339). */
  created: string;
  recordedBy: string;
  recordedAt: string;
}

export interface HistoryRefusalDetails {
  kind: HistoryRefusalKind;
  service: string;
  recorded: RecordedSide;
  /** The revision the caller tried to record from (null for a directory source). */
  candidate: string | null;
  /** What to do about it, in words. */
  fix: string;
}

/**
 * A commit refused by the history gate: exit 3. `behind`: the checkout lacks the recorded
 * revision or is its ancestor (pull). `diverged`: both sides changed the service (merge).
 * `moved`: a compare-and-set precondition (`--after N`) no longer holds (someone recorded a newer
 * version meanwhile: look at it, then retry).
 */
export class HistoryRefusedError extends BakeError {
  override name = 'HistoryRefusedError';
  override readonly kind: HistoryRefusalKind;
  override readonly exitCode: number = ExitCode.refused;
  readonly refusal: HistoryRefusalDetails;

  constructor(refusal: HistoryRefusalDetails) {
    super(describeRefusal(refusal));
    this.kind = refusal.kind;
    this.refusal = refusal;
  }

  override details(): Record<string, unknown> {
    const { kind: _kind, ...rest } = this.refusal;
    return rest;
  }
}

/** One sentence naming the service, both revisions, who and when, and the fix. */
export function describeRefusal(r: HistoryRefusalDetails): string {
  const short = (rev: string | null) => (rev ? rev.slice(0, 12) : 'a directory');
  const recorded = `${r.service} v${r.recorded.version} was recorded from ${short(r.recorded.revision)} (${r.recorded.author ?? r.recorded.recordedBy}, ${r.recorded.created})`;
  const why = {
    behind: `your checkout is behind: ${short(r.candidate)} is ${r.candidate ? 'an ancestor of it or lacks it' : 'not ordered after it'}`,
    diverged: `${short(r.candidate)} and it have diverged: both changed ${r.service}`,
    moved: `the precondition no longer holds: it is not the version you named`,
  }[r.kind];
  return `refusing to record ${r.service}: ${recorded}, and ${why}. Fix: ${r.fix}`;
}

/** A refusal as a commit's result lists it (`refused: […]`): the details and the sentence. */
export interface CommitRefusal extends HistoryRefusalDetails {
  message: string;
}

/** The result form of a refusal. */
export function commitRefusalOf(error: HistoryRefusedError): CommitRefusal {
  return { ...error.refusal, message: error.message };
}
