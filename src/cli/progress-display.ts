import type { ProgressSink } from '../util/progress.js';

/**
 * Renders progress on stderr when it is a terminal: one updating line for steps, a kept line for
 * each finished item. Not a terminal (CI logs, pipes): silent, so logs stay clean.
 */
export function progressDisplay(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (!stream.isTTY) {
    // Not a terminal: only waits are worth a line, since they explain a pause in a CI log.
    return (event) => {
      if (event.kind === 'wait') stream.write(`bake: ${event.message}\n`);
    };
  }
  const started = Date.now();
  return (event) => {
    const elapsed = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
    const line = `${elapsed}s ${event.message}`.slice(0, Math.max(20, (stream.columns ?? 80) - 1));
    if (event.kind === 'step') stream.write(`\r\x1b[2K${line}`);
    else stream.write(`\r\x1b[2K${line}\n`);
  };
}

/** Clears a pending progress line before other output. */
export function clearProgress(stream: NodeJS.WriteStream = process.stderr): void {
  if (stream.isTTY) stream.write('\r\x1b[2K');
}
