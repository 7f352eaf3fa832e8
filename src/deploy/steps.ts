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

export class StepFailed extends Error {
  override name = 'StepFailed';
  constructor(
    readonly step: string,
    readonly undone: string[],
    readonly undoErrors: string[],
    options: { cause: unknown },
  ) {
    super(`step "${step}" failed: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
  }
}

/** Runs steps in order; on failure undoes the completed ones in reverse and throws StepFailed. */
export async function runSteps(steps: Iterable<Step> | AsyncIterable<Step>, log: (line: string) => void = () => undefined): Promise<void> {
  const done: Step[] = [];
  for await (const step of steps) {
    log(step.name);
    try {
      await step.run();
      done.push(step);
    } catch (error) {
      const undone: string[] = [];
      const undoErrors: string[] = [];
      for (const previous of done.reverse()) {
        if (!previous.undo) continue;
        log(`undo: ${previous.name}`);
        try {
          await previous.undo();
          undone.push(previous.name);
        } catch (undoError) {
          undoErrors.push(`${previous.name}: ${(undoError as Error).message}`);
        }
      }
      throw new StepFailed(step.name, undone, undoErrors, { cause: error });
    }
  }
}
