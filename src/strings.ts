// Every sentence the bot shows a Discord user about failures and common states, and /help, in one
// place so they can be translated later. Each area has its own wording module beside it:
// lookups/strings.ts (/parti), alerts/strings.ts (/alerts and alert cards), party/strings.ts (/party
// and the party panel).
export const strings = {
  genericError: (errorId: string) =>
    `Something went wrong on our side. Please try again in a moment. (error id \`${errorId}\`)`,
  shuttingDown: 'The bot is restarting. Please try again in a few seconds.',
  partiChallenge: 'Parti is asking for a browser check right now, so the bot cannot reach it. Please try again later.',
  partiRateLimited: 'Parti is receiving too many requests from the bot. Please try again in a minute.',
  partiTimeout: 'Parti took too long to answer. Please try again in a moment.',
  partiUnavailable: 'Parti is not reachable right now. Please try again in a few minutes.',
  partiMalformed: 'Parti sent an answer the bot could not read. Please try again later.',
  partiNotFound: 'Parti does not know that one.',
  discordMissingPermissions: 'I am missing a permission in that channel.',
  discordMissingAccess: 'I cannot see that channel.',
  discordUnknownChannel: 'That channel no longer exists.',
  discordUnknownGuild: 'That server is no longer reachable for me.',
  discordUnknownMessage: 'That message no longer exists.',
  discordRateLimited: 'Discord is rate limiting me. Please try again in a moment.',
  unknownCommand: 'This command is no longer available. Discord will refresh the command list shortly.',
  notYourButton: 'These buttons belong to someone else. Run the command yourself to get your own.',
  buttonExpired: 'These buttons have expired. Run the command again.',
  helpTitle: 'Parti bot',
  helpIntro: 'Look up Parti creators, see who is live, and more. Options in [brackets] are optional.',
} as const;
