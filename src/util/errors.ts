/**
 * One error hierarchy for the whole tool. Callers branch on `kind` and the data fields, never on
 * message text; the CLI maps `exitCode` straight to the process exit status.
 */

/** Exit statuses of the command-line contract. */
export const ExitCode = { ok: 0, error: 1, usage: 2, refused: 3 } as const;

export class BakeError extends Error {
  override name = 'BakeError';
  /** A short machine-readable classification, printed as `error.kind` in --json output. */
  readonly kind: string = 'error';
  readonly exitCode: number = ExitCode.error;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  /** Data fields that --json output carries besides kind and message. */
  details(): Record<string, unknown> {
    return {};
  }
}

/** One problem found in an input file, located precisely enough to fix it. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the offending field, e.g. `services.catalog.port`. */
  field?: string;
  message: string;
  /** What to change to make it right. */
  fix?: string;
}

/** Renders a problem as `file:line:col: field: message (fix: …)`. */
export function formatProblem(p: Problem): string {
  const where = [p.file, p.line, p.column].filter((x) => x !== undefined).join(':');
  const field = p.field ? ` ${p.field}:` : '';
  const fix = p.fix ? ` (fix: ${p.fix})` : '';
  return `${where}:${field} ${p.message}${fix}`;
}

/** Bad input: a file, a flag or an argument. Carries every problem found, not just the first. */
export class InputError extends BakeError {
  override name = 'InputError';
  override readonly kind: string = 'invalid-input';
  override readonly exitCode: number = ExitCode.usage;
  readonly problems: Problem[];

  constructor(problems: Problem[], options?: { cause?: unknown }) {
    super(problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }

  override details(): Record<string, unknown> {
    return { problems: this.problems };
  }
}

/** The command line itself is wrong: unknown flag, missing argument. */
export class UsageError extends BakeError {
  override name = 'UsageError';
  override readonly kind: string = 'usage';
  override readonly exitCode: number = ExitCode.usage;
}

/** A source tree holds something that must never enter an image (escaping path, device file). */
export class UnsafeSourceError extends BakeError {
  override name = 'UnsafeSourceError';
  override readonly kind: string = 'unsafe-source';
  override readonly exitCode: number = ExitCode.usage;
  readonly path: string;

  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
  }

  override details(): Record<string, unknown> {
    return { path: this.path };
  }
}

/** A git operation failed or the repository is not in the state we need. */
export class GitError extends BakeError {
  override name = 'GitError';
  override readonly kind: string = 'git';
  override readonly exitCode: number = ExitCode.usage;
}

/** The version manifest is unreadable, corrupt or from a newer bake; it is never overwritten. */
export class ManifestError extends BakeError {
  override name = 'ManifestError';
  override readonly kind: string = 'manifest';
  readonly file: string;

  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }

  override details(): Record<string, unknown> {
    return { file: this.file };
  }
}

/** The image store is missing a blob or a blob does not match its digest. */
export class StoreError extends BakeError {
  override name = 'StoreError';
  override readonly kind: string = 'store';
}

/** A lock could not be taken in time, or was lost while held. */
export class LockError extends BakeError {
  override name = 'LockError';
  override readonly kind: string = 'lock';
}

/** A service's build command failed. */
export class BuildCommandError extends BakeError {
  override name = 'BuildCommandError';
  override readonly kind: string = 'build-command';
  readonly service: string;
  readonly output: string;

  constructor(message: string, service: string, output: string, options?: { cause?: unknown }) {
    super(message, options);
    this.service = service;
    this.output = output;
  }

  override details(): Record<string, unknown> {
    return { service: this.service, output: this.output };
  }
}

/** The kinds of deployment race the release gate refuses. */
export type RaceKind = 'stale' | 'regression' | 'conflict' | 'dev';

/** Everything an operator needs to see what raced with what. */
export interface RaceDetails {
  kind: RaceKind;
  image: string;
  build: number;
  env: string;
  service: string;
  /** stale: the build's version; regression/conflict: the version the env runs. */
  have: number;
  /** stale: the latest committed version; regression/conflict: the build's version. */
  want: number;
  /** Who committed the newer of the two versions, and when it was recorded. */
  committedBy?: string;
  committedAt?: string;
  /** Every service that differs, for conflicts: the whole picture, not just the first. */
  changes?: { service: string; from: number; to: number }[];
}

/** The release gate refused: exit code 3, with the race spelled out. */
export class RaceRefusedError extends BakeError {
  override name = 'RaceRefusedError';
  override readonly kind: string;
  override readonly exitCode: number = ExitCode.refused;
  readonly race: RaceDetails;

  constructor(message: string, race: RaceDetails) {
    super(message);
    this.kind = race.kind;
    this.race = race;
  }

  override details(): Record<string, unknown> {
    const { kind: _kind, ...rest } = this.race;
    return rest;
  }
}

/**
 * A remote API (the Docker engine, a registry) answered with an error status. Callers branch on
 * `status`, never on the message.
 */
export class RemoteStatusError extends BakeError {
  override name = 'RemoteStatusError';
  readonly status: number | undefined;

  constructor(message: string, status: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }

  override details(): Record<string, unknown> {
    return { status: this.status ?? null };
  }
}
