import { defineConfig } from 'vitest/config';

// One run covers every layer: unit (no network), integration (real sockets on loopback),
// e2e (real Chromium) and system (real nginx). Slow layers own their timeouts per test.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    env: { LOG_LEVEL: 'silent' },
  },
});
