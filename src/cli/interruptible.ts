import type { CommandContext } from './command.js';

/**
 * Runs a deploy-side command with `ctx.signal` aborted on SIGINT or SIGTERM, so the use case can
 * undo what it did or leave a recorded, resumable state instead of dying halfway. While it does,
 * further signals are ignored (the undo is what puts the environment back); the listeners are
 * removed when the command ends.
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
  }
}
