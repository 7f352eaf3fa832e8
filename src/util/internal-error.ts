import { BakeError, ExitCode } from './errors.js';

/**
 * A failure bake did not classify where it happened: the file system refused (a read-only
 * `.bake`, a full disk, a missing permission), a value was out of range, or a plain bug. What a
 * user or remote client sees is this error's message and fix, never a JavaScript stack trace or
 * (for a remote client) a path on the server; BAKE_DEBUG=* shows the cause with its stack.
 */
export class InternalError extends BakeError {
  override name = 'InternalError';
  override readonly kind: string = 'internal';
  override readonly exitCode: number = ExitCode.error;
  /** What was being done: the system call (`open`, `rename`) or the kind of failure (`range`). */
  readonly operation: string;
  /** The errno code (`EROFS`, `ENOSPC`), when the operating system gave one. */
  readonly code: string | undefined;
  readonly fix: string;

  constructor(message: string, fields: { operation: string; code?: string; fix: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.operation = fields.operation;
    this.code = fields.code;
    this.fix = fields.fix;
  }

  override details(): Record<string, unknown> {
    return { operation: this.operation, ...(this.code !== undefined && { code: this.code }), fix: this.fix };
  }
}

/** What each errno means to someone running bake, and what to do about it. */
const ERRNO: Record<string, { says: string; fix: string }> = {
  EROFS: { says: 'the file system is read-only', fix: "make the workspace's .bake directory writable (or mount it read-write)" },
  EACCES: { says: 'permission denied', fix: 'check the owner and mode of the workspace and its .bake directory (run bake as their owner)' },
  EPERM: {
    says: 'operation not permitted',
    fix: 'check the owner and mode of the workspace and its .bake directory (run bake as their owner)',
  },
  ENOSPC: { says: 'no space left on the device', fix: 'free disk space (bake gc removes unreferenced blobs and uploads), then retry' },
  EDQUOT: {
    says: 'the disk quota is exhausted',
    fix: 'free disk space or raise the quota (bake gc removes unreferenced blobs), then retry',
  },
  EMFILE: { says: 'too many open files', fix: 'raise the open-file limit (ulimit -n), then retry' },
  ENFILE: { says: 'too many open files on this machine', fix: 'raise the system open-file limit, then retry' },
  ENOENT: { says: 'a file or directory is missing', fix: 'check that nothing removed files under .bake while bake ran, then retry' },
  EIO: { says: 'an input/output error from the disk', fix: 'check the disk, then retry' },
};

/**
 * `error` as a classified BakeError: a BakeError is returned as it is; anything else becomes an
 * InternalError whose message names the operation and errno but no path and no stack. `local`
 * (the CLI, whose user owns the machine) also names the file and the original message; a remote
 * client gets neither.
 */
export function classifyError(error: unknown, options: { local?: boolean } = {}): BakeError {
  if (error instanceof BakeError) return error;
  const errno = error as Partial<NodeJS.ErrnoException> | null;
  const code = typeof errno?.code === 'string' ? errno.code : undefined;
  const known = code !== undefined ? ERRNO[code] : undefined;
  if (code !== undefined && (known || typeof errno?.syscall === 'string')) {
    const operation = typeof errno?.syscall === 'string' ? errno.syscall : 'file system';
    const where = options.local === true && typeof errno?.path === 'string' ? ` on ${errno.path}` : '';
    const says = known?.says ?? 'the operating system refused';
    const fix = known?.fix ?? 'retry; if it persists, run with BAKE_DEBUG=* and report the cause';
    return new InternalError(`internal error: ${operation}${where} failed: ${says} (${code})`, { operation, code, fix }, { cause: error });
  }
  if (error instanceof RangeError) {
    const original = options.local === true ? `: ${error.message}` : '';
    return new InternalError(
      `internal error: a value is out of range (a time, a size or a count bake cannot represent)${original}`,
      { operation: 'range', fix: 'check the numbers and times given (flags, SOURCE_DATE_EPOCH, recorded times); BAKE_DEBUG=* shows which' },
      { cause: error },
    );
  }
  const original = options.local === true && error instanceof Error ? ` (${error.message})` : '';
  return new InternalError(
    `internal error: bake failed unexpectedly${original}`,
    { operation: 'unknown', fix: 'retry; if it persists, run with BAKE_DEBUG=* and report the output' },
    { cause: error },
  );
}
