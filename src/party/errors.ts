// The watch-party API's refusals: PartyError carries the HTTP status and code a REST client gets,
// and the helpers here turn a room's refusal, a media failure or a bad token into one. Its message
// is for API clients; a Discord member reads the code's sentence from strings.ts instead
// (describeError in src/errors.ts).
import { MediaError } from './media.js';
import type { PartyErrorCode } from './protocol.js';
import type { RoomError } from './room.js';
import type { TokenError } from './tokens.js';

/** A refusal of the watch-party API, with the HTTP status and code the REST API answers. */
export class PartyError extends Error {
  override name = 'PartyError';
  constructor(
    readonly status: number,
    readonly code: PartyErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const notFound = (): PartyError => new PartyError(404, 'PARTY_NOT_FOUND', 'party not found or has ended');

export function toPartyError(error: unknown): unknown {
  if (error instanceof MediaError) {
    return new PartyError(error.code === 'PARTI_UNAVAILABLE' ? 502 : 400, error.code, error.message);
  }
  return error;
}

export function roomFailure(error: RoomError): PartyError {
  return new PartyError(error.status, error.code, error.message);
}

export function tokenFailure(error: TokenError): PartyError {
  return error.reason === 'expired'
    ? new PartyError(401, 'TOKEN_EXPIRED', 'the token has expired: get a new one')
    : new PartyError(
        401,
        'UNAUTHORIZED',
        error.reason === 'missing' ? 'a bearer token is required' : 'the token is not valid',
      );
}

/**
 * How a socket that could not be attached is closed. A refusal (not a member, party full) is 1008,
 * which a player shows and does not retry; a party that is briefly unavailable (its owner moving
 * between processes: 503) or a limit (429) is 1013 "try again later", and anything unexpected 1011:
 * the player reconnects with backoff instead of telling someone their link is no good.
 */
export function socketRefusal(error: unknown): { code: 1008 | 1011 | 1013; reason: string } {
  if (!(error instanceof PartyError)) return { code: 1011, reason: 'could not join' };
  const retry = error.status === 429 || error.status >= 500;
  // A close reason is at most 123 bytes (the service's messages are ASCII).
  return { code: retry ? 1013 : 1008, reason: error.message.slice(0, 120) };
}
