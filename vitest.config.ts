import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end files each start real bot processes; two cores run two files at a time well.
    pool: 'forks',
    maxWorkers: 2,
  },
});
