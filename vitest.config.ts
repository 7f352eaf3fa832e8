import { defineConfig } from 'vitest/config';

// Integration tests start real processes (git, node, docker): give them room, and run test files
// in parallel only as far as 2 cores allow.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
