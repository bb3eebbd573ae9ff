// What go-live alerts say to Discord members, in one place so it can be translated later: the
// /alerts command's answers, the alert cards, and why a subscription is paused.
import type { DiscordRefusal } from '../discord/errors.js';
import { escapeDiscord, inlineCode } from '../discord/format.js';
import { PLACEHOLDERS } from './template.js';

export const alertStrings = {
  adminOnly: 'Only members with the **Manage Server** permission can set up alerts.',
  guildOnly: 'Alerts are set up inside a server.',
  exactlyOne: 'Give either a `creator` or a `category`, not both and not neither.',
  badTemplate: (unknown: string[]) =>
    `The message uses ${unknown.map((p) => `\`${p}\``).join(', ')}, which I do not know. You can use ${PLACEHOLDERS.map((p) => `\`{${p}}\``).join(', ')}.`,
  notTextChannel: 'Alerts can be posted in text and announcement channels only.',
  missingPermissions: (channel: string, missing: string[]) =>
    `I cannot post alerts in ${channel}: I am missing **${missing.join('**, **')}** there. Give me ${missing.length > 1 ? 'those permissions' : 'that permission'} and try again.`,
  roleNotMentionable: (role: string) =>
    `I cannot ping ${role}: make the role mentionable (Server Settings → Roles) or give me **Mention @everyone, @here, and All Roles**.`,
  limit: (max: number) =>
    `This server already has ${max} alerts, the most it can have. Remove one with \`/alerts remove\` first.`,
  unknownCreator: (query: string) => `I could not find a Parti creator for ${inlineCode(query, 80)}.`,
  saved: 'Alert saved',
  updated: 'Alert updated',
  follows: 'Follows',
  creator: (name: string) => `Creator **${escapeDiscord(name, 200)}**`,
  category: (name: string) =>
    `Category **${escapeDiscord(name, 200)}** (every creator who goes live in it, at most %cap% an hour)`,
  channel: 'Channel',
  role: 'Pings',
  nobody: 'nobody',
  preview: 'Message preview',
  unknownSubscription: 'That alert does not exist any more. Pick one from the list as you type.',
  removed: (what: string, channel: string) => `Removed the alert for ${what} in ${channel}.`,
  listTitle: (count: number, max: number) => `Alerts on this server (${count} of ${max})`,
  listEmpty: 'No alerts yet. Add one with `/alerts add creator:… channel:#…` or `/alerts add category:…`.',
  lastAlert: (when: string) => `last alert ${when}`,
  neverAlerted: 'no alert yet',
  paused: (reason: string) => `⚠️ **Paused**: ${reason}. Fix it, then run \`/alerts test\` on it to resume.`,
  capped: (cap: number, when: string, skipped: number) =>
    `⚠️ Hit the cap of ${cap} alerts an hour ${when}; ${skipped} alert${skipped === 1 ? '' : 's'} skipped so far.`,
  testPosted: (channel: string, url: string) =>
    `Posted a test alert in ${channel} ([jump to it](${url})). Nobody was pinged.`,
  testFailed: (reason: string) =>
    `The test alert could not be posted: ${reason}. The alert is paused until a test succeeds.`,
  sampleTitle: 'Test alert from /alerts test',
  sampleCreator: 'Example creator',
  previous: '◀ Previous',
  next: 'Next ▶',
  page: (page: number) => `Page ${page}`,
} as const;

export const cardStrings = {
  /** The title of a stream that has none. */
  untitled: 'Live on Parti',
  live: 'LIVE on Parti',
  category: 'Category',
  viewers: 'Viewers',
  started: 'Started',
  watch: 'Watch on Parti',
  watchParty: 'Start watch party',
  watchTogether: 'Watch together',
  ended: 'Stream ended',
  duration: 'Duration',
  peak: 'Peak viewers',
  endedAt: 'Ended',
  recording: 'Watch the recording',
  openCreator: 'Open on Parti',
  wasLive: (name: string) => `**${name}** was live.`,
  sampleFooter: 'Test alert · posted by /alerts test, nobody was pinged',
} as const;

/**
 * Why a subscription is paused, shown by /alerts list: the channel was deleted, or Discord refused a
 * post for a reason that retrying cannot fix (a deleted message is not one: its card is forgotten).
 */
export const pauseReasons: Record<Exclude<DiscordRefusal, 'unknownMessage'> | 'channelDeleted', string> = {
  missingAccess: 'I cannot see that channel (Missing Access)',
  missingPermissions: 'I am missing a permission in that channel (Missing Permissions)',
  unknownChannel: 'the channel no longer exists (Unknown Channel)',
  unknownGuild: 'the server is no longer reachable (Unknown Guild)',
  channelDeleted: 'the channel was deleted',
};
