// The one mapping from a failure to what a Discord member reads (src/errors.ts): every code the
// watch-party API answers with becomes a sentence from the party wording, never the API's text.
import { describe, expect, it } from 'vitest';
import { describeError, UserError } from '../src/errors.js';
import { PartyError } from '../src/party/errors.js';
import { PARTY_ERROR_CODES } from '../src/party/protocol.js';

const API_TEXT = 'the party is moving to another server: try again shortly';

describe('describeError', () => {
  it('words a PartyError for members instead of passing the API text on', () => {
    const described = describeError(new PartyError(503, 'PARTY_UNAVAILABLE', API_TEXT, 2));
    expect(described).toEqual({
      message: 'That watch party is moving to another server. Try again in a few seconds.',
      expected: true,
    });
  });

  it('has words for every code, or treats the code as a failure with an error id', () => {
    const internal = new Set(['NOT_FOUND', 'NOT_OWNER', 'SHUTTING_DOWN', 'INTERNAL']);
    for (const code of PARTY_ERROR_CODES) {
      const described = describeError(new PartyError(400, code, API_TEXT));
      expect(described.message, code).not.toContain(API_TEXT);
      if (internal.has(code)) {
        expect(described, code).toMatchObject({ expected: false, errorId: expect.stringMatching(/^[0-9a-f]{8}$/) });
      } else {
        expect(described.expected, code).toBe(true);
        expect(described.message, code).toMatch(/^[A-Z].*[.)]$/);
      }
    }
  });

  it('says when to try again after a rate limit', () => {
    expect(describeError(new PartyError(429, 'RATE_LIMITED', 'at most 10 parties per hour', 600)).message).toBe(
      'You are doing that too often. Try again in 10 min.',
    );
  });

  it('shows a UserError as it is', () => {
    expect(describeError(new UserError('Pick a channel.'))).toEqual({ message: 'Pick a channel.', expected: true });
  });
});
