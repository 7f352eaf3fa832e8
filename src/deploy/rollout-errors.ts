import { BakeError, ExitCode } from '../util/errors.js';

/**
 * How a rollout ends when it does not finish: each error says what state it left, so the
 * command's message and `bake status` agree.
 */

/** A canary step failed its analysis rule: the canary was withdrawn and the release rolled back. */
export class CanaryFailedError extends BakeError {
  override name = 'CanaryFailedError';
  override readonly kind: string = 'canary-failed';
  constructor(
    message: string,
    readonly release: number,
    readonly rule: string,
    readonly figures: Record<string, unknown>,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { release: this.release, rule: this.rule, figures: this.figures };
  }
}

/**
 * SIGINT/SIGTERM during a canary's analysis: the rollout is left on probation, paused and
 * recorded; `bake deploy --resume` continues it, `bake rollback` withdraws it.
 */
export class RolloutInterruptedError extends BakeError {
  override name = 'RolloutInterruptedError';
  override readonly kind: string = 'interrupted';
  constructor(
    message: string,
    readonly release: number,
    readonly resumable: boolean,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { release: this.release, resumable: this.resumable };
  }
}

/** A live toggle's requirement would be broken, and that toggle's policy is to refuse: exit 3. */
export class ToggleConflictError extends BakeError {
  override name = 'ToggleConflictError';
  override readonly kind: string = 'toggle-conflict';
  override readonly exitCode: number = ExitCode.refused;
  constructor(
    message: string,
    readonly toggle: string,
    readonly service: string,
    readonly have: number,
    readonly want: number,
  ) {
    super(message);
  }
  override details(): Record<string, unknown> {
    return { toggle: this.toggle, service: this.service, have: this.have, want: this.want };
  }
}
