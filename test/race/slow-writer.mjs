// Holds the JSON file store's lock (.bake/manifest.json) through bake's own update path and writes
// after a long pause. The crash test freezes it (SIGSTOP) past the stale time so another process
// reclaims the lock; when it thaws, its write must be refused, not applied over the other process's.
import { join } from 'node:path';
import { updateManifestFile } from '../../dist/manifest/manifest-file.js';

const [ws, staleMs] = process.argv.slice(2);
try {
  await updateManifestFile(join(ws, '.bake', 'manifest.json'), { purpose: 'slow writer', staleMs: Number(staleMs) }, async (manifest) => {
    process.stdout.write('locked\n');
    await new Promise((r) => setTimeout(r, 6000));
    manifest.services['slow-writer-was-here'] = { versions: [] };
    return { result: undefined, write: true };
  });
  process.stdout.write('wrote\n');
} catch (error) {
  process.stdout.write(`refused: ${error.name}: ${error.message}\n`);
}
