// What a refusal from Discord's API means for the bot, read from its JSON error code in this one
// place: the interaction error handler words it for the member (src/errors.ts), alert delivery
// pauses a subscription on it (alerts/), and the party panel forgets a deleted panel (party/panel.ts).
import { DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';

export type DiscordRefusal =
  'missingAccess' | 'missingPermissions' | 'unknownChannel' | 'unknownGuild' | 'unknownMessage';

const refusals: Partial<Record<number, DiscordRefusal>> = {
  [RESTJSONErrorCodes.MissingAccess]: 'missingAccess',
  [RESTJSONErrorCodes.MissingPermissions]: 'missingPermissions',
  [RESTJSONErrorCodes.UnknownChannel]: 'unknownChannel',
  [RESTJSONErrorCodes.UnknownGuild]: 'unknownGuild',
  [RESTJSONErrorCodes.UnknownMessage]: 'unknownMessage',
};

/** The refusal a Discord API error is, with its code; undefined for anything else. */
export function discordRefusal(error: unknown): { refusal: DiscordRefusal; code: number } | undefined {
  if (!(error instanceof DiscordAPIError) || typeof error.code !== 'number') return undefined;
  const refusal = refusals[error.code];
  return refusal && { refusal, code: error.code };
}
