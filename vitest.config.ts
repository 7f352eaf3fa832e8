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
    // Every bake a test starts runs in its own process, as in CI: a per-user daemon
    // (bin/daemon-client.js) would outlive the test. test/bake/daemon.test.ts turns it on.
    env: { BAKE_DAEMON: '0' },
  },
});
