// Holds a workspace's manifest write lock through bake's own store module (whichever store
// BAKE_DATABASE_URL and the workspace pick: the JSON file's lock file, SQLite's or PostgreSQL's write
// transaction) until a line arrives on stdin (or stdin closes), then lets go and exits. Prints
// "locked" once it holds the lock.
import { closeWorkspaceStores, workspaceStore } from '../../dist/store/workspace-store.js';

const [ws] = process.argv.slice(2);
const store = await workspaceStore(ws);
await store.update({ purpose: 'history test holder' }, async () => {
  process.stdout.write('locked\n');
  await new Promise((resolve) => {
    process.stdin.once('data', resolve);
    process.stdin.once('end', resolve);
  });
  return { result: undefined, write: false };
});
await closeWorkspaceStores();
