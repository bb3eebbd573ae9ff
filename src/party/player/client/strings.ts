// The web player's user-facing strings, in one place for translation later.
import type { Role } from './types.js';

export const TEXT = {
  // Inside Discord (activity.ts).
  activityFailed: 'Could not open the party inside Discord. Close the Activity and open it again.',
  unmapped: (host: string) =>
    `This clip comes from ${host}, which the Activity cannot reach: inside Discord only hosts the bot's operator mapped can play (ACTIVITY_MEDIA_ORIGINS, npm run activity:mappings). Open the party in a browser to watch it.`,
  inCall: (names: string) => `In the call: ${names}`,
  presence: (title: string, watching: number) => `Watching ${title} · ${watching} watching`,
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: (seconds: number) => `Reconnecting in ${seconds} s…`,
  ended: 'This party has ended.',
  // A private party and a missing one are the same answer to someone without a way in.
  notFoundOrPrivate: (code: string) =>
    `No party to show here: it has ended, the link is wrong, or it is private. Members of a private party get their own link in Discord with /party join code:${code}.`,
  expired: 'Your link has expired. Ask Discord for a new one with /party join.',
  removed: 'The host removed you from this party.',
  remove: 'Remove',
  removeLabel: (name: string) => `Remove ${name} from the party`,
  confirmRemove: 'Remove?',
  confirmRemoveLabel: (name: string) => `Confirm: remove ${name} from the party; they cannot come back`,
  nothingPlaying: 'Nothing is playing yet.',
  play: 'Play',
  pause: 'Pause',
  inSync: (ms: number) => `In sync (${ms >= 0 ? '+' : ''}${ms} ms)`,
  syncing: (ms: number) => `Syncing (${ms >= 0 ? '+' : ''}${ms} ms)`,
  buffering: 'Buffering…',
  waiting: 'Waiting…',
  waitingFor: (names: string[]) =>
    `Waiting for ${names.length <= 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`}…`,
  youWaitedFor: 'you',
  roles: { host: 'host', 'co-host': 'co-host', viewer: 'viewer' } satisfies Record<Role, string>,
  you: ' (you)',
  mediaFailed: 'The video could not be loaded; retrying…',
  guestPrompt: 'Pick the name the others will see, and join the party.',
  react: (name: string) => `React: ${name}`,
  slowDown: 'Easy on the reactions: one a second.',
  gateAbout: (count: number, playing: string | null) =>
    `${count} watching${playing ? ` · now playing ${playing}` : ''}`,
  people: (count: number) => `${count} watching`,
  peopleLabel: (count: number) => `${count} ${count === 1 ? 'person' : 'people'} in the party`,
  copied: 'Invite link copied.',
  copyByHand: (link: string) => `Copy this invite link: ${link}`,
  live: 'LIVE',
  behindLive: (seconds: number) => `${seconds} s behind live`,
  backToLive: 'The stream moved on while the party was stopped: back to live.',
  chatNew: (count: number) => `${count} new`,
  chatNewLabel: (count: number) => `${count} new ${count === 1 ? 'message' : 'messages'}: scroll to the latest`,
  chatFromDiscord: 'Discord',
  chatFromDiscordLabel: 'written in the party’s Discord thread',
  chatDelete: 'Delete',
  chatDeleteLabel: (name: string) => `Delete this message from ${name}`,
  chatTyping: (names: string[]) =>
    names.length === 1
      ? `${names[0]} is typing…`
      : `${names.length === 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`} are typing…`,
  chatRateLimited: 'Slow down: you can send another message in a moment.',
  chatNotAllowed: 'You cannot send messages in this chat.',
  chatOff: 'The host has turned the chat off.',
  chatMembersOnly: 'Only members can write in this chat; guests can read along.',
  chatNotConnected: 'Not connected: your message was not sent. Try again in a moment.',
} as const;
