#!/usr/bin/env node
// The published entry point: `npm run build` compiles src/ to dist/ and bundles the CLI into
// dist/bake.mjs, which starts faster than loading the modules one by one.
import { main } from '../dist/bake.mjs';

process.exitCode = await main(process.argv.slice(2));
