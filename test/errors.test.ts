// The one mapping from a failure to what a Discord member reads (src/errors.ts): every code the
// watch-party API answers with becomes a sentence from the party wording, never the API's text.
import { DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';
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
    const internal = new Set(['NOT_FOUND', 'NOT_OWNER', 'SHUTTING_DOWN', 'UNSUPPORTED_TYPE', 'INTERNAL']);
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
    expect(describeError(new PartyError(429, 'RATE_LIMITED', 'too many playback commands', 1)).message).toBe(
      'You are doing that too often. Try again in 1 s.',
    );
  });

  it('shows a UserError as it is', () => {
    expect(describeError(new UserError('Pick a channel.'))).toEqual({ message: 'Pick a channel.', expected: true });
  });
});

describe('describeError for Discord refusals', () => {
  const refusal = (code: number, status: number) =>
    new DiscordAPIError({ code, message: 'refused' }, code, status, 'POST', '/channels/1/messages', {});

  it('words every refusal the bot knows, from the one mapping of Discord codes', () => {
    expect(describeError(refusal(RESTJSONErrorCodes.MissingAccess, 403)).message).toBe('I cannot see that channel.');
    expect(describeError(refusal(RESTJSONErrorCodes.MissingPermissions, 403)).message).toBe(
      'I am missing a permission in that channel.',
    );
    expect(describeError(refusal(RESTJSONErrorCodes.UnknownChannel, 404)).message).toBe(
      'That channel no longer exists.',
    );
    expect(describeError(refusal(RESTJSONErrorCodes.UnknownGuild, 404))).toEqual({
      message: 'That server is no longer reachable for me.',
      expected: true,
    });
    expect(describeError(refusal(RESTJSONErrorCodes.UnknownMessage, 404))).toEqual({
      message: 'That message no longer exists.',
      expected: true,
    });
  });

  it('treats any other Discord error as unexpected, with an error id', () => {
    expect(describeError(refusal(RESTJSONErrorCodes.InvalidFormBodyOrContentType, 400))).toMatchObject({
      expected: false,
      errorId: expect.stringMatching(/^[0-9a-f]{8}$/),
    });
  });
});
