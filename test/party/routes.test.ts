// The watch-party REST API's answer to a failure nobody expected: a generic message whose error id
// is the one in the log line, of the same form as the ids Discord members are shown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { registerPartyRoutes } from '../../src/party/server.js';
import type { PartyService } from '../../src/party/service.js';

const lines: Array<{ msg: string; errorId?: string }> = [];
const app = createHttpServer(
  createLogger('error', { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) }),
  { discordReady: () => true, storeOpen: () => true, shuttingDown: () => false },
);

beforeAll(async () => {
  // A service whose store has gone away: every lookup fails with a plain Error.
  const failing = {
    viewByCode: () => Promise.reject(new Error('the store is gone')),
  } as unknown as PartyService;
  registerPartyRoutes(app, failing);
  await app.ready();
});
afterAll(() => app.close());

describe('an unexpected failure of a party route', () => {
  it('answers 500 with an error id that names its log line, a new one each time', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await app.inject({ method: 'GET', url: '/api/v1/watch-parties/by-code/K7QX2M' });
      expect(answer.statusCode).toBe(500);
      const { error } = answer.json<{ error: { code: string; message: string } }>();
      expect(error.code).toBe('INTERNAL');
      // 8 hex digits, as describeError gives a Discord member: one source of ids for the whole bot.
      const id = /^something went wrong \(error ([0-9a-f]{8})\)$/.exec(error.message)?.[1];
      expect(id, error.message).toBeDefined();
      expect(lines.filter((line) => line.msg === 'party route failed').map((line) => line.errorId)).toContain(id);
      ids.push(id!);
    }
    expect(new Set(ids).size).toBe(5);
  });
});
