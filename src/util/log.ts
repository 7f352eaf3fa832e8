/**
 * A namespaced logger that is silent unless BAKE_DEBUG names its namespace (or `*`). The library
 * logs through this; only the CLI writes to the terminal.
 */
export interface Logger {
  debug(message: string, data?: Record<string, unknown>): void;
}

export function createLogger(namespace: string): Logger {
  return {
    debug(message, data) {
      const wanted = process.env['BAKE_DEBUG'];
      if (!wanted) return;
      if (wanted !== '*' && !wanted.split(',').some((n) => namespace.startsWith(n.trim()))) return;
      const suffix = data ? ` ${JSON.stringify(data)}` : '';
      process.stderr.write(`bake:${namespace} ${message}${suffix}\n`);
    },
  };
}
