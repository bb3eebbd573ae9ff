// What Parti schedules in the Events tab and planned watch parties say to Discord members, in one
// place so it can be translated later: /alerts events answers, the events' descriptions, /party
// schedule answers, and why mirroring is paused.
import { discordTime, escapeDiscord, inlineCode } from '../discord/format.js';

export const scheduleStrings = {
  guildOnly: 'Events are set up inside a server.',
  adminOnly: 'Only members with the **Manage Server** permission can set up events.',
  missingPermission:
    'I cannot make events on this server: give me the **Create Events** (or **Manage Events**) permission and try again.',
  limit: (max: number) =>
    `This server already mirrors ${max} schedules, the most it can. Remove one with \`/alerts events remove\` first.`,
  saved: (what: string, days: number) =>
    `Mirroring ${what}: their streams of the next ${days} days appear in the server's **Events** tab within a minute.`,
  savedLive: ' Streams they start without a schedule get an event too.',
  removed: (what: string) => `Stopped mirroring ${what}. Its upcoming events are cancelled.`,
  unknownSubscription: 'That schedule does not exist any more. Pick one from the list as you type.',
  creator: (name: string) => `**${escapeDiscord(name, 200)}**`,
  category: (name: string) => `category **${escapeDiscord(name, 200)}**`,
  listTitle: (count: number) => `Parti schedules in the Events tab (${count})`,
  listEmpty:
    'Nothing is mirrored yet. Add a creator with `/alerts events add creator:…` or a category with `/alerts events add category:…`.',
  liveEvents: 'also unscheduled streams',
  mirrored: (count: number) => `${count} upcoming event${count === 1 ? '' : 's'} in the Events tab`,
  capped: (cap: number, wanted: number) =>
    `⚠️ Only the ${cap} soonest of ${wanted} scheduled streams are shown: Discord events are capped at ${cap} per server.`,
  paused: (reason: string, when: string) =>
    `⚠️ **Paused** ${when}: ${reason}. Give me the permission back; mirroring resumes at the next check (or run \`/alerts events add\` again).`,
  pauseReason: 'I am missing the **Create Events** / **Manage Events** permission (Missing Permissions)',
} as const;

/** The text of the events the bot makes. */
export const eventText = {
  /** The last line of a mirrored event's description; the bot finds its events again by it. */
  marker: (partiEventId: number) => `Mirrored from Parti's schedule (event ${partiEventId}).`,
  markerPattern: /Mirrored from Parti's schedule \(event (\d+)\)\.\s*$/,
  by: (creator: string, category: string | undefined) =>
    category ? `${creator} on Parti · ${category}` : `${creator} on Parti`,
  liveNow: (url: string) => `Live now: ${url}`,
  untitled: (creator: string) => `${creator} live on Parti`,
  ended: (duration: string, peak: number) => `Stream ended after ${duration}, ${peak} peak viewers.`,
  party: (source: string) => `A watch party of ${source}. Join with the invite link when it opens.`,
} as const;

export const planStrings = {
  guildOnly: 'Watch parties are planned inside a server.',
  badTime: (typed: string) =>
    `I could not read ${inlineCode(typed, 60)} as a time. Try \`in 2h\`, \`20:30\` (UTC) or \`2026-12-24T18:00Z\`.`,
  pastTime: 'That time has passed. Pick a time in the future.',
  tooFar: (days: number) => `Plan at most ${days} days ahead.`,
  notVoice: 'Pick a voice channel for the event, or leave it out for an event with the invite link.',
  cannotUseVoice: (channel: string) =>
    `I cannot hold an event in ${channel}: I need **View Channel** and **Connect** there. Give me those, or leave the channel out for an event with the invite link.`,
  missingPermission: scheduleStrings.missingPermission,
  cannotPost: (channel: string) =>
    `I cannot post the party panel in ${channel}: I need View Channel, Send Messages and Embed Links there.`,
  planned: (when: number, code: string, event: string) =>
    `Planned: the party opens ${discordTime(when / 1000, 'F')} (${discordTime(when / 1000, 'R')}) with invite code \`${code}\`. Its event: ${event}`,
  choice: (iso: string, relative: string) => `${iso} (${relative})`,
  choiceBad: 'Type a time: in 2h, 20:30 (UTC), 2026-12-24T18:00Z',
  canceled: 'The party’s event was cancelled in Discord, so the planned party is cancelled.',
} as const;
