import type { CommandContext } from './command.js';

/**
 * Runs a deploy-side command with `ctx.signal` aborted on SIGINT or SIGTERM, so the use case can
 * undo what it did or leave a recorded, resumable state instead of dying halfway. While it does,
 * further signals are ignored (the undo is what puts the environment back).
 *
 * When the command has ended, its outcome stands: a signal that arrives while bake still writes the
 * result and exits must not kill it (a deploy that committed would print nothing and die by the
 * signal). So the first such signal is ignored, and only a second one ends the process, with the
 * usual 128 + signal number.
 */
export async function interruptible<T>(ctx: CommandContext, run: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.progress({ kind: 'wait', message: `${signal}: stopping — undoing what was done, or recording where it stopped` });
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A signal that arrived while bake was still loading (bin/bake.js kept it): interrupted from the start.
  const early = globalThis as { __bakeEarlySignal?: NodeJS.Signals; __bakeEarlySignalStop?: () => void };
  early.__bakeEarlySignalStop?.();
  if (early.__bakeEarlySignal) onSignal(early.__bakeEarlySignal);
  try {
    return await run({ ...ctx, signal: controller.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    holdLateSignals();
  }
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };
let holding = false;

/** From the end of a command to the process's exit: one signal is ignored, a second one exits. */
function holdLateSignals(): void {
  if (holding) return;
  holding = true;
  let seen = 0;
  const late = (signal: NodeJS.Signals) => {
    seen += 1;
    if (seen > 1) process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
  };
  process.on('SIGINT', late);
  process.on('SIGTERM', late);
}
