#!/usr/bin/env node
// The published entry point: `npm run build` compiles src/ to dist/ and bundles the CLI into
// dist/bake.mjs, which starts faster than loading the modules one by one.
import { main } from '../dist/bake.mjs';

// If the event loop ever empties while a command still awaits something, Node would exit
// quietly with code 0 (or 13): make that a loud failure instead of a silent success.
let finished = false;
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write('bake: internal error: the command stopped while waiting on something that can no longer answer\n');
  process.exitCode = 1;
});
process.exitCode = await main(process.argv.slice(2));
finished = true;
