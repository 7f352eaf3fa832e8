import { spawn } from 'node:child_process';
import { GitError } from '../errors.js';

/**
 * Reads many git blobs through one `git cat-file --batch` process: one spawn for a whole commit
 * instead of one `git archive` per service (each spawn forks the whole Node process, which gets
 * slower as the heap fills with file contents).
 */
export function readBlobs(top: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const blobs = new Map<string, Buffer>();
    if (oids.length === 0) return resolve(blobs);
    const child = spawn('git', ['-C', top, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let pending: Buffer = Buffer.alloc(0);
    let current: { oid: string; size: number } | undefined;
    let stderr = '';
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      child.kill();
      reject(error);
    };
    child.stdout.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        if (!current) {
          const nl = pending.indexOf(10);
          if (nl < 0) return;
          const header = pending.subarray(0, nl).toString('utf8');
          const [oid, type, size] = header.split(' ');
          if (type === 'missing' || !oid || !size) return fail(new GitError(`git cat-file: object ${oid ?? header} is missing from ${top}`));
          current = { oid, size: Number(size) };
          pending = pending.subarray(nl + 1);
        }
        if (pending.length < current.size + 1) return;
        // Copy out of the shared chunk so the rest of it can be freed.
        blobs.set(current.oid, Buffer.from(pending.subarray(0, current.size)));
        pending = pending.subarray(current.size + 1);
        current = undefined;
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (error) => fail(new GitError(`cannot run git cat-file in ${top}: ${error.message}`, { cause: error })));
    child.once('close', (code) => {
      if (failed) return;
      if (code !== 0) return fail(new GitError(`git cat-file failed in ${top}: ${stderr.trim()}`));
      resolve(blobs);
    });
    child.stdin.on('error', (error) => fail(new GitError(`git cat-file in ${top}: ${error.message}`, { cause: error })));
    child.stdin.end(`${oids.join('\n')}\n`);
  });
}
