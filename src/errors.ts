// The one place a failure becomes what a Discord member reads. A UserError's message is written
// for members and shown as it is; the party service's refusals (PartyError, worded for API clients)
// get their code's sentence from the party wording; Parti and Discord failures are mapped to plain
// words; anything else gets a generic line with an id that also appears in the log, so a member
// never sees a stack trace or an API's text.
import { randomBytes } from 'node:crypto';
import { discordRefusal, type DiscordRefusal } from './discord/errors.js';
import { PartiError } from './parti/errors.js';
import { PartyError } from './party/errors.js';
import { partyErrorText } from './party/strings.js';
import { strings } from './strings.js';

export class UserError extends Error {
  override name = 'UserError';
}

export interface DescribedError {
  /** what the member reads */
  message: string;
  /** true when the failure is expected (bad input, Parti down) rather than a bug */
  expected: boolean;
  /** an id for unexpected failures, shown to the user and logged */
  errorId?: string;
}

const partiMessages: Record<PartiError['kind'], string> = {
  challenge: strings.partiChallenge,
  rate_limited: strings.partiRateLimited,
  timeout: strings.partiTimeout,
  unavailable: strings.partiUnavailable,
  malformed: strings.partiMalformed,
  not_found: strings.partiNotFound,
  http: strings.partiUnavailable,
};

const discordMessages: Record<DiscordRefusal, string> = {
  missingPermissions: strings.discordMissingPermissions,
  missingAccess: strings.discordMissingAccess,
  unknownChannel: strings.discordUnknownChannel,
  unknownGuild: strings.discordUnknownGuild,
  unknownMessage: strings.discordUnknownMessage,
};

/** The id an unexpected failure is shown and logged with, so a member's report finds its log line. */
export function newErrorId(): string {
  return randomBytes(4).toString('hex');
}

export function describeError(error: unknown): DescribedError {
  if (error instanceof UserError) return { message: error.message, expected: true };
  if (error instanceof PartiError) return { message: partiMessages[error.kind], expected: true };
  if (error instanceof PartyError) {
    const message = partyErrorText(error);
    if (message) return { message, expected: true };
  }
  const refused = discordRefusal(error);
  if (refused) return { message: discordMessages[refused.refusal], expected: true };
  const errorId = newErrorId();
  return { message: strings.genericError(errorId), expected: false, errorId };
}
