// Holds a workspace's manifest lock through bake's own lock module until a line arrives on stdin
// (or stdin closes), then releases it and exits. Prints "locked" once it holds the lock.
import { join } from 'node:path';
import { withFileLock } from '../../dist/lock/file-lock.js';

const [ws] = process.argv.slice(2);
await withFileLock(join(ws, '.bake', 'manifest.json'), { purpose: 'history test holder' }, async () => {
  process.stdout.write('locked\n');
  await new Promise((resolve) => {
    process.stdin.once('data', resolve);
    process.stdin.once('end', resolve);
  });
});
