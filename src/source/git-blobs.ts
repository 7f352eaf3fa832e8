import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
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
}

/** One opened body waiting for (or receiving) its bytes. */
interface Pending {
  oid: string;
  body: Readable;
  /** Body bytes plus git's trailing newline still to come; set once the header arrived. */
  remaining?: number;
}

/**
 * git processes a reader spreads its bodies over (round robin): one inflates the next file while
 * the other's output is being tarred and hashed, so git and Node overlap on two cores.
 */
const PROCESSES = 2;

/** Opens a reader on the repository at `top`; git starts on the first open and exits when idle. */
export function blobReader(top: string): BlobReader {
  const sessions: (Session | undefined)[] = new Array(PROCESSES).fill(undefined);
  let turn = 0;
  return {
    open(oid) {
      const slot = turn++ % PROCESSES;
      const session = (sessions[slot] ??= new Session(top, (closed) => {
        if (sessions[slot] === closed) sessions[slot] = undefined;
      }));
      return session.open(oid);
    },
  };
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

  constructor(
    private readonly top: string,
    private readonly onClose: (session: Session) => void,
  ) {
    this.child = spawn('git', ['-C', top, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.once('error', (error) => this.fail(new GitError(`cannot run git cat-file in ${top}: ${error.message}`, { cause: error })));
    this.child.stdin.on('error', (error) => this.fail(new GitError(`git cat-file in ${top}: ${error.message}`, { cause: error })));
    this.child.once('close', (code) => {
      this.onClose(this);
      if (code !== 0 || this.queue.length > 0)
        this.fail(new GitError(`git cat-file failed in ${top}: ${this.stderr.trim() || `exit ${code}`}`));
    });
  }

  open(oid: string): Readable {
    const pending: Pending = { oid, body: new Readable({ highWaterMark: 1 << 20, read: () => this.child.stdout.resume() }) };
    // A reader that gives up still has its bytes coming: they are skipped, not pushed.
    pending.body.once('close', () => this.maybeIdle());
    if (this.failure || this.closing) {
      process.nextTick(() => pending.body.destroy(this.failure ?? new GitError(`git cat-file in ${this.top} was closed`)));
      return pending.body;
    }
    clearTimeout(this.idleTimer);
    if (this.queue.length === 0) this.hold(true);
    this.queue.push(pending);
    // A tar opens its next 32 bodies in one go: they are asked for in one write, not 32 (a
    // monorepo's 2,000 small files were 2,000 pipe writes).
    if (this.asking === '') process.nextTick(() => this.ask());
    this.asking += `${oid}\n`;
    return pending.body;
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
        const [oid, type, size] = this.header.toString('utf8').split(' ');
        this.header = undefined;
        if (type === 'missing' || oid !== current.oid || size === undefined) {
          return this.fail(new GitError(`git cat-file: object ${current.oid} is missing from ${this.top}`));
        }
        current.remaining = Number(size) + 1;
      }
      const n = Math.min(current.remaining, chunk.length - offset);
      const bodyBytes = current.remaining - n === 0 ? n - 1 : n; // the last byte is git's newline
      current.remaining -= n;
      if (bodyBytes > 0 && !current.body.destroyed && !current.body.push(chunk.subarray(offset, offset + bodyBytes))) {
        this.child.stdout.pause(); // resumed by the body's read()
      }
      offset += n;
      if (current.remaining === 0) {
        this.queue.shift();
        if (!current.body.destroyed) current.body.push(null);
        // The next body must not wait for a pause meant for this one.
        this.child.stdout.resume();
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
    const current = this.queue[0];
    // Bytes owed to a destroyed reader are still read (and dropped): keep git flowing.
    if (current?.body.destroyed) this.child.stdout.resume();
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
    for (const pending of this.queue.splice(0)) pending.body.destroy(error);
  }
}

/** Reads a blob whole: for the few consumers that need bytes in memory (symlink targets, build copies). */
export async function readWhole(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
