import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end files each start real bot processes; two cores run two files at a time well.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: ['test/player/**'] },
      },
      {
        // The same end-to-end suites with the bot's state in a real Redis, and the multi-process tests.
        extends: true,
        test: {
          name: 'redis',
          include: ['test/e2e/**/*.test.ts', 'test/party/cluster.test.ts'],
          env: { TEST_STORE: 'redis' },
          globalSetup: ['test/support/redisServer.ts'],
        },
      },
      {
        // Real Chromium measures sync in milliseconds: these run last, one file at a time, so two
        // browsers and the bot processes of other files do not fight over the two cores meanwhile.
        extends: true,
        test: {
          name: 'player',
          include: ['test/player/**/*.test.ts'],
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
