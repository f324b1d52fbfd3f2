import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the chaos suite kills processes and Redis servers: `npm run test:chaos`, one scenario at a time
    exclude: ['test/chaos/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests share one Redis and spawn processes; two workers fit a 2-core machine.
    maxWorkers: 2,
  },
});
