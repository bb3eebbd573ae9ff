// What watch parties say to people, in one place so it can be translated later: the /party
// command's answers, the party panel in Discord, the names the service gives when none is given,
// and a sentence for every code a refusal of the party service carries (the service's own messages
// are for API clients; describeError in src/errors.ts uses these).
import type { PartyErrorCode } from './protocol.js';

export const partyStrings = {
  guildOnly: 'Watch parties are started inside a server.',
  noPartyHere:
    'There is no live watch party in this channel. Give its invite `code`, or start one with `/party create`.',
  notFound: 'That watch party has ended, or the code is wrong.',
  cannotPost: (channel: string) =>
    `I cannot post the party panel in ${channel}: I need **View Channel**, **Send Messages** and **Embed Links** there.`,
  created: (code: string) =>
    `Your watch party is up. Invite code \`${code}\`. This is your personal host link; keep it to yourself:`,
  joined: (title: string) => `You joined **${title}**. This link is yours alone; it opens the player signed in as you:`,
  openPlayer: 'Open the player',
  ended: 'The watch party has ended.',
  cohost: (who: string) => `${who} is now a co-host: they can play, pause, seek and skip.`,
  added: (title: string, position: number) => `Added **${title}** to the queue (position ${position}).`,
  /** A party created without a title. */
  defaultTitle: (host: string) => `${host}'s watch party`,
  removePick: (shown: number, total: number) =>
    `Who should leave the party? They cannot come back with the same account${total > shown ? ` (showing the ${shown} who joined last of ${total})` : ''}.`,
  removePlaceholder: 'Pick someone to remove',
  nobodyToRemove: 'There is nobody in the party you can remove.',
  removedMember: (name: string) => `Removed **${name}** from the party. They cannot come back with that account.`,
  guestTag: 'guest',
  activityOff:
    'Watching together inside Discord (the Activity) is off on this bot: its operator turns it on with `DISCORD_CLIENT_SECRET` (see the README).',
  /** Someone whose name is empty once cleaned of control characters. */
  guestName: 'Guest',
} as const;

/** The party's chat thread in Discord (thread.ts), and what its host is told about it. */
export const threadStrings = {
  threadName: 'Watch party chat',
  /** After a web writer's name on their messages in the thread. */
  webMark: '· web',
  someone: 'Viewer',
  ended: (detail: { started_at: string | null; created_at: string }) => {
    const since = Date.parse(detail.started_at ?? detail.created_at);
    const minutes = Math.max(1, Math.round((Date.now() - since) / 60_000));
    const length = minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
    return `The watch party has ended, after ${length} together. This thread is now archived.`;
  },
  missing: (names: readonly string[], channel: string) =>
    `Chat stays on the player page: to mirror it in a thread in ${channel}, give me ${names
      .map((name) => `**${name}**`)
      .join(', ')} there.`,
} as const;

/** The party's panel message in Discord (panel.ts). */
export const panelStrings = {
  nothingPlaying: 'Nothing in the queue yet: add a clip with `/party add`.',
  nowPlaying: 'Now playing',
  upNext: 'Up next',
  invite: 'Invite code',
  participants: 'Watching',
  host: 'Host',
  playing: (at: string) => `▶ Playing, at ${at}`,
  paused: (at: string) => `⏸ Paused at ${at}`,
  waiting: (names: string, at: string) => `⏳ Waiting for ${names}, at ${at}`,
  asOf: (when: string) => `as of ${when}`,
  ended: 'This watch party has ended.',
  join: 'Join',
  play: 'Play',
  pause: 'Pause',
  back: '−10 s',
  forward: '+10 s',
  skip: 'Skip',
  end: 'End',
  openPlayer: 'Open player',
  watchTogether: 'Watch together',
  footer: 'Join gives you a personal player link. Host and co-hosts control playback.',
  footerWait: (seconds: number) => `Playback waits up to ${seconds} s for anyone buffering.`,
  live: 'live',
  /** A live stream: where the party is, as how far behind live (at most a second behind is live). */
  behindLive: (seconds: number) => (seconds <= 1 ? 'live' : `${seconds} s behind live`),
  playingLive: (where: string) => `▶ Playing ${where}`,
  pausedLive: (where: string) => `⏸ Paused ${where}`,
  waitingLive: (names: string, where: string) => `⏳ Waiting for ${names}, ${where}`,
  goLive: 'Go live',
  remove: 'Remove someone',
} as const;

const rateLimited = (seconds: number | undefined): string =>
  `You are doing that too often. Try again ${
    !seconds ? 'later' : seconds < 60 ? `in ${Math.ceil(seconds)} s` : `in ${Math.ceil(seconds / 60)} min`
  }.`;

/**
 * A member's sentence for each code. null: a code no Discord member should meet (a route, a socket
 * or a fault between processes); it is reported as an unexpected failure, with an error id.
 */
const errorSentences: Record<Exclude<PartyErrorCode, 'RATE_LIMITED'>, string | null> = {
  PARTY_NOT_FOUND: partyStrings.notFound,
  PARTY_FULL: 'That watch party is full.',
  PARTY_UNAVAILABLE: 'That watch party is moving to another server. Try again in a few seconds.',
  NOT_HOST: 'Only the host can do that.',
  NOT_ALLOWED: 'Only the host and co-hosts can do that.',
  NOT_PARTICIPANT: 'You must join the party first (the **Join** button or `/party join`).',
  UNKNOWN_PARTICIPANT: 'That member has not joined the party yet: they press **Join** or run `/party join` first.',
  REMOVED: 'The host removed you from that watch party.',
  FORBIDDEN: 'That watch party is not open to you.',
  UNAUTHORIZED: 'That player link is not valid. Get a new one with `/party join`.',
  TOKEN_EXPIRED: 'That player link has expired. Get a new one with `/party join`.',
  INVALID_INPUT: 'The watch party cannot take that. Check the options and try again.',
  INVALID_SOURCE:
    'I cannot play that. Give a Parti video link, a creator who is live, or a link ending in .m3u8, .mp4 or .webm.',
  UNPLAYABLE_SOURCE:
    'I cannot play that: Parti has no such video or creator, or there is nothing to watch there right now.',
  PARTI_UNAVAILABLE: 'Parti did not answer. Please try again in a moment.',
  EMPTY_QUEUE: 'Nothing is in the queue yet: add a clip with `/party add`.',
  END_OF_QUEUE: 'That is the last clip in the queue: add another with `/party add`.',
  QUEUE_FULL: 'The queue is full. Let some clips play, then add more.',
  UNKNOWN_CLIP: 'That clip is no longer in the queue.',
  NOT_LIVE: 'What is playing is a recording, not a live stream.',
  LIVE_RATE: 'A live stream plays at its own pace.',
  NOT_FOUND: null,
  NOT_OWNER: null,
  SHUTTING_DOWN: null,
  CHAT_RATE_LIMITED: 'Slow down: you can send another message in a moment.',
  CHAT_NOT_ALLOWED: 'The host has turned chat off, or kept it for members, in that watch party.',
  UNKNOWN_MESSAGE: 'That message is already gone.',
  UNSUPPORTED_TYPE: null,
  INTERNAL: null,
};

/** What a member reads for a refusal of the party service; undefined when no member should meet it. */
export function partyErrorText(error: {
  code: PartyErrorCode;
  retryAfterSeconds?: number | undefined;
}): string | undefined {
  if (error.code === 'RATE_LIMITED') return rateLimited(error.retryAfterSeconds);
  return errorSentences[error.code] ?? undefined;
}
