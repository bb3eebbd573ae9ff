// The emoji reactions anyone in a party can float over everyone's video: a fixed set, so a reaction
// carries no text of its own, and a per-person budget, so nobody floods the screen. Shared by the
// server (protocol.ts, room.ts) and the web player, and imports nothing.

export const REACTIONS = [
  { emoji: '👍', name: 'Thumbs up' },
  { emoji: '😂', name: 'Laughing' },
  { emoji: '😮', name: 'Surprised' },
  { emoji: '❤️', name: 'Heart' },
  { emoji: '🔥', name: 'Fire' },
  { emoji: '👏', name: 'Applause' },
  { emoji: '🎉', name: 'Party' },
  { emoji: '😢', name: 'Sad' },
] as const;

export type ReactionEmoji = (typeof REACTIONS)[number]['emoji'];
export const REACTION_EMOJI = REACTIONS.map((reaction) => reaction.emoji) as [ReactionEmoji, ...ReactionEmoji[]];

/** Each person may send this many in a burst, then one more each REACTION_REFILL_MS. */
export const REACTION_BURST = 5;
export const REACTION_REFILL_MS = 1000;
