// Takes the JSON file store's lock (.bake/manifest.json) of a workspace through bake's own lock
// module and holds it until killed: the crash test SIGKILLs this process to leave a dead holder behind.
import { join } from 'node:path';
import { withFileLock } from '../../dist/lock/file-lock.js';

const [ws, staleMs] = process.argv.slice(2);
await withFileLock(join(ws, '.bake', 'manifest.json'), { purpose: 'crash test holder', staleMs: Number(staleMs) }, async () => {
  process.stdout.write('locked\n');
  // A timer keeps the process alive (a pending promise alone would let Node exit).
  await new Promise(() => setInterval(() => undefined, 1000));
});
