import { BakeError } from '../util/errors.js';

/**
 * A deploy is a sequence of steps that know how to undo themselves (the shape of Packer's
 * multistep): when a step fails, the steps already done are undone in reverse order, so the
 * environment ends where it started.
 */
export interface Step {
  name: string;
  run(): Promise<void>;
  undo?(): Promise<void>;
}

/** An undo that threw while a failed change was being undone. */
export interface UndoFailure {
  step: string;
  message: string;
}

/** A step failed and every step before it was undone: the environment is where it started. */
export class StepsUndoneError extends BakeError {
  override name = 'StepsUndoneError';
  override readonly kind: string = 'deploy-failed';
  constructor(
    message: string,
    /** The step that failed. */
    readonly step: string,
    /** The steps undone, in the order they were undone. */
    readonly undone: string[],
    options: { cause: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { step: this.step, undone: this.undone };
  }
}

/** SIGINT/SIGTERM arrived mid-change: the steps done were undone, so the environment is where it started. */
export class StepsInterruptedError extends StepsUndoneError {
  override name = 'StepsInterruptedError';
  override readonly kind: string = 'interrupted';
}

/** A step failed and at least one undo failed too: the environment may be half changed. */
export class UndoFailedError extends BakeError {
  override name = 'UndoFailedError';
  override readonly kind: string = 'deploy-undo-failed';
  constructor(
    message: string,
    readonly step: string,
    readonly undone: string[],
    readonly undoFailures: UndoFailure[],
    options: { cause: unknown },
  ) {
    super(message, options);
  }
  override details(): Record<string, unknown> {
    return { step: this.step, undone: this.undone, undoFailures: this.undoFailures };
  }
}

/**
 * Runs steps in order; on failure undoes the completed ones in reverse (every one is tried, even
 * after an undo fails) and throws StepsUndoneError when all undos succeeded, UndoFailedError
 * naming each failed undo otherwise. `what` names the change in the message ("deploy of shop:3 to dev").
 * When `signal` aborts, the next step is not started and the change is undone: StepsInterruptedError.
 */
export async function runSteps(
  steps: Iterable<Step> | AsyncIterable<Step>,
  options: { what: string; log?: (line: string) => void; signal?: AbortSignal },
): Promise<void> {
  const log = options.log ?? (() => undefined);
  const done: Step[] = [];
  const signal = options.signal;
  for await (const step of steps) {
    try {
      // An interruption is taken between steps (and by steps that wait): what is done gets undone.
      if (signal?.aborted) throw new Error(`interrupted (${String(signal.reason ?? 'signal')})`);
      log(step.name);
      await step.run();
      done.push(step);
    } catch (error) {
      const undone: string[] = [];
      const failures: UndoFailure[] = [];
      for (const previous of done.reverse()) {
        if (!previous.undo) continue;
        log(`undo: ${previous.name}`);
        try {
          await previous.undo();
          undone.push(previous.name);
        } catch (undoError) {
          failures.push({ step: previous.name, message: messageOf(undoError) });
        }
      }
      const failed = `step "${step.name}" failed: ${messageOf(error)}`;
      if (failures.length === 0 && signal?.aborted) {
        throw new StepsInterruptedError(`${options.what} was interrupted before "${step.name}" and undone`, step.name, undone, {
          cause: error,
        });
      }
      if (failures.length === 0)
        throw new StepsUndoneError(`${options.what} failed and was undone: ${failed}`, step.name, undone, { cause: error });
      const list = failures.map((f) => `"${f.step}" (${f.message})`).join(', ');
      throw new UndoFailedError(
        `${options.what} failed and could not be fully undone: ${failed}; then the undo of ${list} failed too, so the environment may be half changed (see bake status)`,
        step.name,
        undone,
        failures,
        { cause: error },
      );
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
