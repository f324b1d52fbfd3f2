import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/chaos/**/*.chaos.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Scenarios kill processes and Redis servers; one at a time keeps them independent on a 2-core machine.
    fileParallelism: false,
    maxWorkers: 1,
  },
});
