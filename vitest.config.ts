import { defineConfig } from 'vitest/config';

/** Browser tests of what the page shows and does, not of sync figures. */
const PLAYER_UI = [
  'test/player/chat.test.ts',
  'test/player/page.test.ts',
  'test/player/csp.test.ts',
  'test/player/activity.test.ts',
  'test/player/partyThread.test.ts',
];

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
        // The end-to-end suites where the store matters, with the bot's state in a real Redis, and the
        // multi-process tests. Parti lookups, Parti host failover and the Activity's sign-in read and
        // write nothing that differs between stores: they run once, above.
        extends: true,
        test: {
          name: 'redis',
          include: ['test/e2e/**/*.test.ts', 'test/party/cluster.test.ts'],
          exclude: ['test/e2e/parti.test.ts', 'test/e2e/partiHosts.test.ts', 'test/e2e/activity.test.ts'],
          env: { TEST_STORE: 'redis' },
          globalSetup: ['test/support/redisServer.ts'],
        },
      },
      {
        // Real Chromium for what the page shows and does (chat, the gate, the Activity's sign-in, CSP):
        // after the bot suites, one file at a time (two browsers at once made each file three times
        // slower, waiting on each other).
        extends: true,
        test: {
          name: 'player-ui',
          include: PLAYER_UI,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Real Chromium measures sync in milliseconds: these run last, one file at a time, so two
        // browsers and the bot processes of other files do not fight over the two cores meanwhile.
        extends: true,
        test: {
          name: 'player',
          include: ['test/player/**/*.test.ts'],
          exclude: PLAYER_UI,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
