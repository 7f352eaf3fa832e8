import type { BuildOptions } from '../app/build.js';
import type { GcOptions } from '../app/gc.js';
import type { LogOptions } from '../app/log.js';
import type { PushOptions } from '../app/push.js';
import type { ReleaseOptions } from '../app/release.js';
import type { StatusOptions } from '../app/status.js';
import type { RevokeOptions } from '../app/revoke.js';
import type { UnrevokeOptions } from '../app/unrevoke.js';
import type { LatestOptions } from '../app/latest.js';
import type { HistoryProof } from '../history/follows.js';

// What a remote caller may ask the service for: `{command, options, actor}` as JSON, typed per
// command. These are the use cases' own options minus everything that names a host path or the
// host's working trees: a commit names uploads (trees the caller sent, by digest), never a
// directory, and `build --dev` does not exist here.

/** A service's tree as the caller uploaded it, with where it came from (recorded with the version). */
export interface UploadedTree {
  service: string;
  /** The hex of the digest an earlier POST /v1/uploads verified. */
  upload: string;
  revision?: string;
  author?: string;
  time?: number;
  /**
   * The history gate's input, made by the caller: the latest version it proved against, and (for a
   * committed git tree) how `revision` relates to that version's revision in the caller's checkout.
   * The service checks it under the manifest lock; absent: ordered by arrival, like a directory.
   */
  proof?: HistoryProof;
}

/** The options of each command the service runs, by command. */
export interface RemoteOptions {
  commit: { services: UploadedTree[] };
  latest: LatestOptions;
  build: Omit<BuildOptions, 'commit' | 'dev'> & { commit?: UploadedTree[] };
  release: ReleaseOptions;
  push: PushOptions;
  status: StatusOptions;
  log: LogOptions;
  gc: GcOptions;
  revoke: RevokeOptions;
  unrevoke: UnrevokeOptions;
}

/** The use cases the service runs for remote callers; the others are local by nature. */
export type RemoteCommand = keyof RemoteOptions;

/** One request: a command and its options, and who is acting on the caller's side (its BAKE_ACTOR, else user@host). */
export type RemoteRequest = { [C in RemoteCommand]: { command: C; options: RemoteOptions[C]; actor?: string } }[RemoteCommand];

/** How one option is checked, and how it reads on a command line (for the queue and interrupted records). */
export type Field =
  | { type: 'string'; required?: true; flag?: string }
  | { type: 'strings'; flag?: string }
  | { type: 'boolean'; flag: string }
  | { type: 'integer'; min: number; max: number; flag?: string }
  | { type: 'uploads'; flag?: string };

const NAME = { type: 'string', required: true } as const;
const UPLOADS = { type: 'uploads' } as const;

/** Every option of every remote command; the compiler holds it equal to RemoteOptions. */
export const REQUEST_FIELDS: { [C in RemoteCommand]: { [K in keyof Required<RemoteOptions[C]>]: Field } } = {
  commit: { services: UPLOADS },
  latest: { services: { type: 'strings' } },
  build: {
    images: { type: 'strings' },
    all: { type: 'boolean', flag: '--all' },
    commit: { type: 'uploads', flag: '--commit' },
    serialize: { type: 'boolean', flag: '--serialize' },
    maxRebakes: { type: 'integer', min: 0, max: 100, flag: '--max-rebakes' },
    allowStale: { type: 'boolean', flag: '--allow-stale' },
    load: { type: 'boolean', flag: '--load' },
    push: { type: 'string', flag: '--push' },
  },
  release: {
    image: NAME,
    env: { type: 'string', required: true, flag: '--env' },
    build: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, flag: '--build' },
    allowStale: { type: 'boolean', flag: '--allow-stale' },
    rollback: { type: 'boolean', flag: '--rollback' },
    allowRevoked: { type: 'boolean', flag: '--allow-revoked' },
  },
  push: {
    image: NAME,
    target: NAME,
    build: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, flag: '--build' },
    compress: { type: 'boolean', flag: '--compress' },
  },
  status: { env: { type: 'string', flag: '--env' }, all: { type: 'boolean', flag: '--all' } },
  log: {
    service: { type: 'string', flag: '--service' },
    image: { type: 'string', flag: '--image' },
    env: { type: 'string', flag: '--env' },
    limit: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, flag: '--limit' },
  },
  gc: {
    dryRun: { type: 'boolean', flag: '--dry-run' },
    engine: { type: 'boolean', flag: '--engine' },
    graceSeconds: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, flag: '--grace' },
  },
  revoke: {
    service: NAME,
    version: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER },
    reason: { type: 'string', required: true, flag: '--reason' },
    andOlder: { type: 'boolean', flag: '--and-older' },
  },
  unrevoke: {
    service: NAME,
    version: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER },
    reason: { type: 'string', flag: '--reason' },
  },
};

/** The commands a read token may run. */
export const READ_COMMANDS: ReadonlySet<RemoteCommand> = new Set(['status', 'log', 'latest']);

/** True for a command the service runs. */
export function isRemoteCommand(name: string): name is RemoteCommand {
  return Object.hasOwn(REQUEST_FIELDS, name);
}

/** A request as a person would have typed it (`commit s1`, `build shop --load`): for the queue and the log. */
export function describeRequest(request: RemoteRequest): string[] {
  const fields: Record<string, Field> = REQUEST_FIELDS[request.command];
  const words: string[] = [request.command];
  for (const [key, value] of Object.entries(request.options as Record<string, unknown>)) {
    const field = fields[key];
    if (!field || value === undefined || value === false) continue;
    const flag = field.flag ? [field.flag] : [];
    if (field.type === 'uploads') words.push(...flag, ...(value as UploadedTree[]).map((t) => t.service));
    else if (field.type === 'strings') words.push(...flag, ...(value as string[]));
    else if (field.type === 'boolean') words.push(field.flag);
    else words.push(...flag, String(value));
  }
  return words;
}
