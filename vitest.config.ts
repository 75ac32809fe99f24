import { defineConfig } from 'vitest/config';

// One run covers every layer: unit (no network), integration (real sockets on loopback),
// e2e (real Chromium) and system (real nginx). Slow layers own their timeouts per test.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The demo is built once here, not by each browser test file at the same time.
    globalSetup: ['test/global-setup.ts'],
    env: { LOG_LEVEL: 'silent' },
  },
});
