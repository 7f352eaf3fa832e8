import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { BodyChunks } from '../tree/tree.js';
import { GitError } from '../util/errors.js';

/**
 * Streams git blobs out of `git cat-file --batch` processes shared by a whole commit: two spawns
 * instead of one per service (each spawn forks the whole Node process), and no blob is ever held
 * whole in memory. Each process answers in the order bodies were opened on it, so a caller reads
 * the bodies it opened in order, each to its end (or destroys it); bodies are slices of git's
 * output chunks, never copied, and git is paused while a body's reader is 1 MiB behind.
 */
export interface BlobReader {
  /** The blob's bytes as a stream. Nothing is requested until this is called; destroy() skips the rest. */
  open(oid: string): Readable;
  /**
   * The same bytes as a lean chunk source, for the tar writer: a Readable per file cost a cold
   * process about 50 µs (a monorepo's 2,200 files: 100 ms); this is a queue and a promise.
   */
  chunks(oid: string): BodyChunks;
  /**
   * The same bytes copied into `target` at `offset`, at most `size` of them, straight from git's
   * output: no queue, and git is never paused for it. Resolves with the blob's full length.
   */
  copyInto(oid: string, target: Buffer, offset: number, size: number): Promise<number>;
  /**
   * A whole object (a commit, a tree: small ones) with its type; undefined when the repository
   * does not have it (a shallow clone's cut-off parents), without failing anything else.
   */
  object(oid: string): Promise<GitObject | undefined>;
  /**
   * An object's type and size without its bytes (undefined when missing). Only a reader opened
   * with `command` can answer it: `git cat-file --batch-command`, git 2.36 or later.
   */
  info(oid: string): Promise<{ type: string; size: number } | undefined>;
  /** From now on, spreads the bodies over up to `processes` git processes (at most two). */
  widen(processes: number): void;
}

/** One object as `git cat-file` gives it. */
export interface GitObject {
  type: string;
  body: Buffer;
}

/**
 * Thrown (to every request) when this git is older than `git cat-file --batch-command` (2.36):
 * the caller goes the way that older gits support.
 */
export class BatchCommandUnsupportedError extends GitError {
  override name = 'BatchCommandUnsupportedError';
}

/** Where the bytes of one body go: a Readable for general callers, or a LeanBody. */
interface BodySink {
  /** Adds bytes; false when the reader is 1 MiB behind (git is paused until it reads). */
  push(chunk: Buffer): boolean;
  end(): void;
  fail(error: Error): void;
  /** The reader gave up: the bytes still owed are skipped. */
  readonly cancelled: boolean;
  /** The object's type and size, as its header arrives (before any byte of it). */
  header?(type: string, size: number): void;
  /** Present when a missing object is an answer, not a failure: called instead of `end`. */
  missing?(): void;
}

/** One opened body waiting for (or receiving) its bytes. */
interface Pending {
  oid: string;
  sink: BodySink;
  /** `info`: the header line is the whole answer (command sessions only). */
  infoOnly: boolean;
  /** Body bytes plus git's trailing newline still to come; set once the header arrived. */
  remaining?: number;
}

/** Bytes a reader may be behind before git is paused. */
const BEHIND = 1 << 20;

/**
 * git processes a reader spreads its bodies over (round robin) when there is much to read: one
 * inflates the next file while the other's output is being tarred and hashed, so two gits and Node
 * share the two cores. For a few megabytes one git keeps ahead of Node by itself (it writes ahead
 * into the pipe and the body's queue), and a second one would only cost its spawn.
 */
const PROCESSES = 2;

/**
 * Opens a reader on the repository at `top`; git starts on the first open and exits when idle.
 * `processes`: how many git processes to spread the bodies over (default two). `command`: run
 * `git cat-file --batch-command`, which also answers `info` (git 2.36 or later; on an older git
 * every request fails with BatchCommandUnsupportedError).
 */
export function blobReader(top: string, options: { processes?: number; command?: boolean } = {}): BlobReader {
  let processes = Math.max(1, Math.min(PROCESSES, options.processes ?? PROCESSES));
  const command = options.command === true;
  const sessions: (Session | undefined)[] = new Array(PROCESSES).fill(undefined);
  let turn = 0;
  const session = () => {
    const slot = turn++ % processes;
    return (sessions[slot] ??= new Session(top, command, (closed) => {
      if (sessions[slot] === closed) sessions[slot] = undefined;
    }));
  };
  return {
    open(oid) {
      const s = session();
      const body = new Readable({ highWaterMark: BEHIND, read: () => s.resume() });
      // A reader that gives up still has its bytes coming: they are skipped, not pushed.
      body.once('close', () => s.released());
      s.enqueue(oid, {
        push: (chunk) => body.push(chunk),
        end: () => body.push(null),
        fail: (error) => body.destroy(error),
        get cancelled() {
          return body.destroyed;
        },
      });
      return body;
    },
    chunks(oid) {
      const s = session();
      const body = new LeanBody(s);
      s.enqueue(oid, body);
      return body;
    },
    copyInto(oid, target, offset, size) {
      return new Promise((resolve, reject) => {
        let length = 0;
        session().enqueue(oid, {
          push(chunk) {
            const room = size - length;
            if (room > 0) chunk.copy(target, offset + length, 0, Math.min(room, chunk.length));
            length += chunk.length;
            return true;
          },
          end: () => resolve(length),
          fail: reject,
          cancelled: false,
        });
      });
    },
    object(oid) {
      return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let type = '';
        session().enqueue(oid, {
          header: (t) => (type = t),
          push: (chunk) => chunks.push(chunk) > 0,
          end: () => resolve({ type, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }),
          missing: () => resolve(undefined),
          fail: reject,
          cancelled: false,
        });
      });
    },
    widen(more) {
      processes = Math.max(processes, Math.min(PROCESSES, more));
    },
    info(oid) {
      if (!command) return Promise.reject(new Error('internal: info() needs a reader opened with `command`'));
      return new Promise((resolve, reject) => {
        let answer: { type: string; size: number } | undefined;
        session().enqueue(
          oid,
          {
            header: (type, size) => (answer = { type, size }),
            push: () => true,
            end: () => resolve(answer),
            missing: () => resolve(undefined),
            fail: reject,
            cancelled: false,
          },
          true,
        );
      });
    },
  };
}

/** A body's chunks through a queue: what the tar writer reads, without a Readable's machinery. */
class LeanBody implements BodySink, BodyChunks {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | undefined;
  private waiting: (() => void) | undefined;
  cancelled = false;

  constructor(private readonly session: Session) {}

  push(chunk: Buffer): boolean {
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake();
    return this.queued < BEHIND;
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: Error): void {
    this.error ??= error;
    this.wake();
  }

  cancel(): void {
    if (this.cancelled || (this.ended && this.queue.length === 0)) return;
    this.cancelled = true;
    this.queue.length = 0;
    this.session.released();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.length;
          if (this.queued < BEHIND) this.session.resume();
          yield chunk;
        } else if (this.error) throw this.error;
        else if (this.ended || this.cancelled) return;
        else await new Promise<void>((resolve) => (this.waiting = resolve));
      }
    } finally {
      this.cancel();
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}

/** How long an idle git process is kept for the next open. */
const IDLE_MS = 200;

class Session {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private header: Buffer | undefined;
  private stderr = '';
  private failure: Error | undefined;
  private closing = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private paused = false;

  constructor(
    private readonly top: string,
    private readonly command: boolean,
    private readonly onClose: (session: Session) => void,
  ) {
    this.child = spawn('git', ['-C', top, 'cat-file', command ? '--batch-command' : '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.once('error', (error) => this.fail(new GitError(`cannot run git cat-file in ${top}: ${error.message}`, { cause: error })));
    // git gone (an older one refusing --batch-command, say): 'close' says why, with its exit code.
    this.child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') this.fail(new GitError(`git cat-file in ${top}: ${error.message}`, { cause: error }));
    });
    this.child.once('close', (code) => {
      this.onClose(this);
      if (code === 0 && this.queue.length === 0) return;
      const said = this.stderr.trim() || `exit ${code}`;
      // An older git refuses the option with its usage (exit 129) before reading anything.
      if (this.command && code === 129 && /batch-command/.test(this.stderr))
        return this.fail(new BatchCommandUnsupportedError(`git cat-file in ${top}: no --batch-command in this git (${said})`));
      this.fail(new GitError(`git cat-file failed in ${top}: ${said}`));
    });
  }

  enqueue(oid: string, sink: BodySink, infoOnly = false): void {
    if (this.failure || this.closing) {
      const error = this.failure ?? new GitError(`git cat-file in ${this.top} was closed`);
      process.nextTick(() => sink.fail(error));
      return;
    }
    clearTimeout(this.idleTimer);
    if (this.queue.length === 0) this.hold(true);
    this.queue.push({ oid, sink, infoOnly });
    // A tar opens its next bodies in one go: they are asked for in one write, not one each (a
    // monorepo's 2,000 small files were 2,000 pipe writes).
    if (this.asking === '') process.nextTick(() => this.ask());
    this.asking += this.command ? `${infoOnly ? 'info' : 'contents'} ${oid}\n` : `${oid}\n`;
  }

  /** The reader wants more: let git's output flow again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child.stdout.resume();
  }

  /** A body was let go (read to its end, or given up): skipped bytes must keep flowing, and git may idle. */
  released(): void {
    if (this.queue[0]?.sink.cancelled) this.resume();
    this.maybeIdle();
  }

  /** Object ids opened but not yet asked for; written together on the next tick. */
  private asking = '';

  private ask(): void {
    const ids = this.asking;
    this.asking = '';
    if (ids !== '' && !this.failure && !this.child.stdin.destroyed) this.child.stdin.write(ids);
  }

  private onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      const current = this.queue[0];
      if (!current) return this.fail(new GitError(`git cat-file in ${this.top} sent more than was asked for`));
      if (current.remaining === undefined) {
        const nl = chunk.indexOf(10, offset);
        const piece = chunk.subarray(offset, nl < 0 ? chunk.length : nl);
        this.header = this.header ? Buffer.concat([this.header, piece]) : piece;
        if (nl < 0) return;
        offset = nl + 1;
        const [oid, type = '', size] = this.header.toString('latin1').split(' ');
        this.header = undefined;
        if (type === 'missing' && oid === current.oid && current.sink.missing) {
          this.queue.shift();
          current.sink.missing();
          this.maybeIdle();
          continue;
        }
        if (type === 'missing' || oid !== current.oid || size === undefined) {
          return this.fail(new GitError(`git cat-file: object ${current.oid} is missing from ${this.top}`));
        }
        current.sink.header?.(type, Number(size));
        // An `info` answer is its header line alone; a body is followed by git's newline.
        current.remaining = current.infoOnly ? 0 : Number(size) + 1;
        if (current.remaining === 0) {
          this.queue.shift();
          current.sink.end();
          this.maybeIdle();
          continue;
        }
      }
      const n = Math.min(current.remaining, chunk.length - offset);
      const bodyBytes = current.remaining - n === 0 ? n - 1 : n; // the last byte is git's newline
      current.remaining -= n;
      if (bodyBytes > 0 && !current.sink.cancelled && !current.sink.push(chunk.subarray(offset, offset + bodyBytes))) {
        this.paused = true;
        this.child.stdout.pause(); // resumed when the body's reader catches up
      }
      offset += n;
      if (current.remaining === 0) {
        this.queue.shift();
        if (!current.sink.cancelled) current.sink.end();
        // The next body must not wait for a pause meant for this one.
        this.resume();
        this.maybeIdle();
      }
    }
  }

  /**
   * With nothing asked for, git no longer keeps Node alive (it exits at EOF when Node does), and
   * after a quiet spell it is told to exit; the next open starts a new one. Between one service's
   * layer and the next the queue empties for a moment: respawning there cost a fork per service.
   */
  private maybeIdle(): void {
    if (this.queue.length > 0 || this.closing) return;
    this.hold(false);
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.queue.length > 0 || this.closing) return;
      this.closing = true;
      this.onClose(this);
      this.child.stdin.end();
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  /** Whether git's process and pipes keep the event loop alive: only while bodies are owed. */
  private hold(on: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stdout, this.child.stderr] as unknown as Pick<Socket, 'ref' | 'unref'>[];
    for (const handle of handles) {
      if (on) handle.ref();
      else handle.unref();
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.onClose(this);
    this.child.kill();
    for (const pending of this.queue.splice(0)) pending.sink.fail(error);
  }
}

/** Reads a blob whole: for the few consumers that need bytes in memory (symlink targets, build copies). */
export async function readWhole(body: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
