import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the chaos suite kills processes and Redis servers: `npm run test:chaos`, one scenario at a time
    exclude: ['test/chaos/**', 'node_modules/**'],
    // dist/ for the tests that spawn the CLI, built once before any of them runs
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests share one Redis and spawn processes; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
