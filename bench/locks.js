// Issue 3's lock benchmark: 16 processes contending for one manifest lock. Throughput and
// p50/p99 wait for bake's lock against proper-lockfile's built-in retry in the same run, and
// flock(1) as the kernel's limit.
import { join } from 'node:path';
import { fmt, percentile, root, sh, spawnAsync, tempDir } from './lib.js';

const PROCESSES = 16;
const PER_PROCESS = 50;

async function contend(mode, target) {
  const startAt = Date.now() + 1500;
  const runs = await Promise.all(
    Array.from({ length: PROCESSES }, () =>
      spawnAsync(process.execPath, [join(root, 'bench', 'lock-worker.js'), target, mode, String(PER_PROCESS), String(startAt)]),
    ),
  );
  const results = runs.map((r) => {
    if (r.code !== 0) throw new Error(`lock worker failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  });
  const seconds = (Math.max(...results.map((r) => r.ended)) - Math.min(...results.map((r) => r.began))) / 1000;
  const waits = results.flatMap((r) => r.waits);
  return { seconds, waits, rate: waits.length / seconds };
}

export async function benchLocks(report) {
  const tmp = tempDir('locks');
  try {
    const ours = await contend('bake', join(tmp.dir, 'ours.json'));
    const peer = await contend('proper-lockfile', join(tmp.dir, 'peer.json'));
    const total = PROCESSES * PER_PROCESS;
    const flockStart = performance.now();
    sh(`for p in $(seq ${PROCESSES}); do (for i in $(seq ${PER_PROCESS}); do flock ${tmp.dir}/flock true; done) & done; wait`); // includes one fork+exec per lock
    const flockSeconds = (performance.now() - flockStart) / 1000;
    const row = (r) =>
      `${r.rate.toFixed(0)} locks/s, wait p50 ${percentile(r.waits, 50).toFixed(1)} ms, p99 ${percentile(r.waits, 99).toFixed(1)} ms (${fmt(r.seconds)})`;
    report(`lock contention: ${PROCESSES} processes × ${PER_PROCESS} lock/release cycles`, [
      ['bake (owner record + fencing token, jittered back-off ≤ 50 ms)', row(ours)],
      ['proper-lockfile retries (factor 2, max 50 ms)', row(peer)],
      ['flock(1), kernel limit (incl. process spawn)', `${(total / flockSeconds).toFixed(0)} locks/s (${fmt(flockSeconds)})`],
      ['throughput bake / proper-lockfile', `${(ours.rate / peer.rate).toFixed(2)}×`],
      ['p99 wait proper-lockfile / bake', `${(percentile(peer.waits, 99) / percentile(ours.waits, 99)).toFixed(2)}×`],
    ]);
  } finally {
    tmp.cleanup();
  }
}
