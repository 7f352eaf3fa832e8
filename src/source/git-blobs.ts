import { spawn } from 'node:child_process';
import { GitError } from '../util/errors.js';

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
    // Chunks not yet consumed; joined only once enough bytes for the next step have arrived, so a
    // large blob is copied once rather than once per chunk.
    let chunks: Buffer[] = [];
    let buffered = 0;
    const take = (n: number): Buffer => {
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
      chunks = all.length > n ? [all.subarray(n)] : [];
      buffered -= n;
      return all.subarray(0, n);
    };
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
      chunks.push(chunk);
      buffered += chunk.length;
      for (;;) {
        if (!current) {
          if (chunks.length > 1) chunks = [Buffer.concat(chunks, buffered)];
          const nl = chunks[0]?.indexOf(10) ?? -1;
          if (nl < 0) return;
          const header = take(nl + 1)
            .subarray(0, nl)
            .toString('utf8');
          const [oid, type, size] = header.split(' ');
          if (type === 'missing' || !oid || !size)
            return fail(new GitError(`git cat-file: object ${oid ?? header} is missing from ${top}`));
          current = { oid, size: Number(size) };
        }
        if (buffered < current.size + 1) return;
        // Copy out of the shared chunk so the rest of it can be freed.
        blobs.set(current.oid, Buffer.from(take(current.size + 1).subarray(0, current.size)));
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
