// One contender in the lock benchmark: from a common start time, takes and releases a lock N
// times, printing each acquisition's wait in ms and its own time window (JSON on stdout). Modes: `bake` (bake's lock module, our
// jittered retry) and `proper-lockfile` (the library's own `retries` back-off).
import lockfile from 'proper-lockfile';
import { withFileLock } from '../dist/lock/file-lock.js';

const [target, mode, countRaw, startAtRaw] = process.argv.slice(2);
const count = Number(countRaw);
const waits = [];
// Start together: process start-up is not what is being measured.
while (Date.now() < Number(startAtRaw)) await new Promise((r) => setTimeout(r, 1));
const began = Date.now();
for (let i = 0; i < count; i++) {
  const start = performance.now();
  if (mode === 'bake') {
    await withFileLock(target, { purpose: 'bench' }, async () => {
      waits.push(performance.now() - start);
    });
  } else {
    const release = await lockfile.lock(target, {
      realpath: false,
      stale: 10000,
      retries: { retries: 500, factor: 2, minTimeout: 1, maxTimeout: 50 },
    });
    waits.push(performance.now() - start);
    await release();
  }
}
process.stdout.write(JSON.stringify({ waits, began, ended: Date.now() }));
