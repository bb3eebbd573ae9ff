// The watch-party wire protocol: zod schemas for every client→server message (one discriminated
// union, checked on every frame) and for every server→client message, with their types. Field
// names and meanings follow the reference API; the extra fields are what precise sync needs.
import { z } from 'zod';
import { REACTION_EMOJI } from './reactions.js';

/** Largest client frame the server reads; ws closes a bigger one with 1009. */
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024;
/** The subprotocol a browser offers beside `bearer.<token>`; the server always selects it. */
export const WS_SUBPROTOCOL = 'watch-party.v1';
export const WS_BEARER_PREFIX = 'bearer.';

/**
 * Every code a refusal of the watch-party API carries (REST `error.code`, a socket's `error`), besides
 * the socket's own message checks. Each has the sentence a Discord member reads in strings.ts.
 */
export const PARTY_ERROR_CODES = [
  'PARTY_NOT_FOUND',
  'PARTY_FULL',
  'PARTY_UNAVAILABLE',
  'NOT_HOST',
  'NOT_ALLOWED',
  'NOT_PARTICIPANT',
  'UNKNOWN_PARTICIPANT',
  'REMOVED',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'TOKEN_EXPIRED',
  'RATE_LIMITED',
  'INVALID_INPUT',
  'INVALID_SOURCE',
  'UNPLAYABLE_SOURCE',
  'PARTI_UNAVAILABLE',
  'EMPTY_QUEUE',
  'END_OF_QUEUE',
  'QUEUE_FULL',
  'UNKNOWN_CLIP',
  'NOT_LIVE',
  'LIVE_RATE',
  'NOT_FOUND',
  'NOT_OWNER',
  'SHUTTING_DOWN',
  'CHAT_RATE_LIMITED',
  'CHAT_NOT_ALLOWED',
  'UNKNOWN_MESSAGE',
  'UNSUPPORTED_TYPE',
  'INTERNAL',
] as const;
export type PartyErrorCode = (typeof PARTY_ERROR_CODES)[number];

export const MIN_PLAYBACK_RATE = 0.25;
export const MAX_PLAYBACK_RATE = 4;
/** Ten days: longer than any stream, short enough that arithmetic stays exact. */
const MAX_POSITION_SECONDS = 864_000;

const position = z.number().finite().min(0).max(MAX_POSITION_SECONDS);
// The reference's clients send party_id and a timestamp with every command; both are accepted and
// the server's clock alone decides positions (a client clock can be minutes off).
const envelope = {
  party_id: z.string().max(64).optional(),
  timestamp: z.number().finite().optional(),
};

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** Resume; `position` (the host's local position) re-anchors there, otherwise the current position is kept. */
  z.strictObject({ type: z.literal('play'), position: position.optional(), ...envelope }),
  z.strictObject({ type: z.literal('pause'), position: position.optional(), ...envelope }),
  z.strictObject({ type: z.literal('seek'), position, ...envelope }),
  /** A live clip: play from the live point (a few segments behind the live edge). */
  z.strictObject({ type: z.literal('go-live'), ...envelope }),
  /** Without clip_id: the next clip in the queue. */
  z.strictObject({ type: z.literal('skip'), clip_id: z.string().min(1).max(64).optional(), ...envelope }),
  z.strictObject({ type: z.literal('sync-request'), ...envelope }),
  z.strictObject({
    type: z.literal('set-rate'),
    playback_rate: z.number().finite().min(MIN_PLAYBACK_RATE).max(MAX_PLAYBACK_RATE),
    ...envelope,
  }),
  /** A host's player reports the clip's real length once its metadata loads; positions clamp to it. */
  z.strictObject({
    type: z.literal('clip-duration'),
    clip_id: z.string().min(1).max(64),
    duration: z.number().finite().positive().max(MAX_POSITION_SECONDS),
    ...envelope,
  }),
  /**
   * Any member's player: it cannot play right now (true) or can again (false). Only a party set to
   * wait for everyone acts on it, by holding the timeline for a capped time.
   */
  z.strictObject({ type: z.literal('buffering'), buffering: z.boolean(), ...envelope }),
  /** Any member: an emoji from the fixed set floats over everyone's video (never stored; budgeted per person). */
  z.strictObject({
    type: z.literal('reaction'),
    emoji: z.enum(REACTION_EMOJI),
    /** Where in the video the sender reacted (the reference API's clients send it); passed on as it came. */
    video_timestamp: position.optional(),
    ...envelope,
  }),
  /** NTP-style clock sync: client_time is the client's own clock, echoed back untouched. */
  z.strictObject({ type: z.literal('ping'), client_time: z.number().finite(), ...envelope }),
  /** Any member the party's `chat` setting lets talk: 1–500 characters after cleaning (chat.ts). */
  z.strictObject({ type: z.literal('chat'), message: z.string().max(2000), ...envelope }),
  /** The typing indicator: relayed (throttled) to the others, who let a `true` expire by itself. */
  z.strictObject({ type: z.literal('typing'), is_typing: z.boolean(), ...envelope }),
  /** Its author, or a host or co-host for anyone's message: removed for everyone, in Discord too. */
  z.strictObject({ type: z.literal('chat_delete'), message_id: z.string().min(1).max(64), ...envelope }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type ClientMessageType = ClientMessage['type'];
/** Every type the server reads; a well-formed message of another type gets UNSUPPORTED_TYPE, nothing worse. */
export const CLIENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(
  clientMessageSchema.options.map((option) => option.shape.type.value),
);

/** Chat, typing and deletes: chat.ts, beside the room. */
export type ChatCommand = Extract<ClientMessage, { type: 'chat' | 'typing' | 'chat_delete' }>;
export function isChatCommand(message: ClientMessage): message is ChatCommand {
  return message.type === 'chat' || message.type === 'typing' || message.type === 'chat_delete';
}
/** The commands that go through PartyRoom.applyCommand (everything but ping and chat). */
export type PartyCommand = Exclude<ClientMessage, { type: 'ping' } | ChatCommand>;
export const CONTROL_TYPES = ['play', 'pause', 'seek', 'go-live', 'skip', 'set-rate', 'clip-duration'] as const;

// ---------------------------------------------------------------------------------------------
// Server → client

export const roleSchema = z.enum(['host', 'co-host', 'viewer']);
export type Role = z.infer<typeof roleSchema>;
export const visibilitySchema = z.enum(['public', 'private']);
export type Visibility = z.infer<typeof visibilitySchema>;
/** Who may talk in a party's chat: everyone, members (not guests), or nobody. */
export const chatSettingSchema = z.enum(['everyone', 'members', 'off']);
export type ChatSetting = z.infer<typeof chatSettingSchema>;

export const chatMessageSchema = z.object({
  id: z.string(),
  watch_party_id: z.string(),
  user_id: z.string(),
  display_name: z.string(),
  avatar_url: z.string().nullable(),
  /** Plain text, never HTML. */
  message: z.string(),
  created_at: z.string(),
  /** Written on the page, or in the party's Discord thread. */
  source: z.enum(['web', 'discord']),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const participantSchema = z.object({
  user_id: z.string(),
  display_name: z.string(),
  avatar_url: z.string().nullable(),
  role: roleSchema,
  /** Joined with a name only: silent when the party's chat is for members. */
  guest: z.boolean().default(false),
});
export type ParticipantInfo = z.infer<typeof participantSchema>;

export const clipSchema = z.object({
  id: z.string(),
  title: z.string(),
  /** The source reference as stored (`video:80892`, `creator:567503`, or the direct URL); never a signed URL. */
  source: z.string(),
  kind: z.enum(['parti-video', 'parti-live', 'url']),
  media_type: z.enum(['hls', 'mp4', 'webm']),
  /** Seconds; null until known (a host's player reports it with clip-duration). */
  duration: z.number().nullable(),
  thumbnail_url: z.string().nullable(),
  added_by: z.string(),
  added_at: z.string(),
  /**
   * A live stream: positions are seconds of content after `epoch` on the playlist's shared clock
   * (`pdt`: #EXT-X-PROGRAM-DATE-TIME in unix seconds; `sequence`: media sequence × target duration),
   * not a player's currentTime. Null for a recording.
   */
  live: z
    .object({ clock: z.enum(['pdt', 'sequence']), epoch: z.number(), target_duration: z.number() })
    .nullable()
    .default(null),
});
export type ClipInfo = z.infer<typeof clipSchema>;

/** What every playback message carries: the reference's fields plus the timeline anchor. */
const playbackFields = {
  party_id: z.string(),
  clip_id: z.string().nullable(),
  /** Index in the queue; -1 while the queue is empty. */
  clip_index: z.number().int(),
  /** Seconds into the clip at server_time_ms. */
  position: z.number(),
  is_playing: z.boolean(),
  /** Unix seconds, as in the reference. */
  server_timestamp: z.number().int(),
  /** The server clock in ms when this message was made; with the pong offset, the client's "now". */
  server_time_ms: z.number(),
  playback_rate: z.number(),
  /** position = anchor_position + (server_now_ms − anchor_server_time_ms) / 1000 × playback_rate while playing. */
  anchor_position: z.number(),
  anchor_server_time_ms: z.number(),
  duration: z.number().nullable(),
  /** Bumps on every change of party state; a client ignores a message older than the last one it applied. */
  seq: z.number().int(),
  /** Who caused it; null for the server itself. */
  actor_user_id: z.string().nullable(),
  /**
   * Wait for everyone: the timeline is stopped (is_playing false) only because these members are
   * buffering, not because a host paused; it plays on when they are ready, or at the hold's cap.
   */
  hold: z.boolean().default(false),
  waiting_for: z.array(z.object({ user_id: z.string(), display_name: z.string() })).default([]),
  /**
   * A live clip's window at server_time_ms, in positions; it slides on at 1 s/s. `start`: the
   * earliest position a player can still load; `live_point`: where the party plays when live;
   * `edge`: the newest content. Null for a recording.
   */
  live: z.object({ start: z.number(), live_point: z.number(), edge: z.number() }).nullable().default(null),
  /** Why the server moved the timeline by itself: `live-window`, a stop the live window left behind. */
  reason: z.enum(['live-window']).nullable().default(null),
};

const stamp = {
  party_id: z.string(),
  server_timestamp: z.number().int(),
  server_time_ms: z.number(),
  seq: z.number().int(),
};

export const participantViewSchema = z.object({
  id: z.string(),
  user_id: z.string(),
  role: roleSchema,
  joined_at: z.string(),
  guest: z.boolean().default(false),
  user: z.object({ username: z.string(), display_name: z.string(), avatar_url: z.string().nullable() }),
});
export type ParticipantView = z.infer<typeof participantViewSchema>;

export const partyDetailSchema = z.object({
  id: z.string(),
  host_user_id: z.string(),
  title: z.string(),
  current_clip_id: z.string().nullable(),
  current_position_seconds: z.number(),
  is_playing: z.boolean(),
  visibility: visibilitySchema,
  invite_code: z.string(),
  invite_url: z.string(),
  max_participants: z.number().int(),
  /** The timeline holds (capped) while anyone's player is buffering; off: nobody is waited for. */
  wait_for_everyone: z.boolean().default(false),
  chat: chatSettingSchema.default('everyone'),
  participants: z.array(participantViewSchema),
  participant_count: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  queue: z.array(clipSchema),
  playback: z.object(playbackFields),
});
export type PartyDetail = z.infer<typeof partyDetailSchema>;

export const playbackMessageSchema = z.object({
  type: z.enum(['sync', 'play', 'pause', 'seek', 'skip']),
  ...playbackFields,
});
export type PlaybackMessage = z.infer<typeof playbackMessageSchema>;
export type PlaybackFields = Omit<PlaybackMessage, 'type'>;

export const serverMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('sync'), ...playbackFields }),
  z.object({ type: z.literal('play'), ...playbackFields }),
  z.object({ type: z.literal('pause'), ...playbackFields }),
  z.object({ type: z.literal('seek'), ...playbackFields }),
  /** A new current clip; a changed rate or a learned duration is broadcast as `sync`. */
  z.object({ type: z.literal('skip'), ...playbackFields, clip: clipSchema.nullable() }),
  z.object({
    type: z.literal('participant-joined'),
    ...stamp,
    participant: participantSchema,
    participant_count: z.number().int(),
  }),
  z.object({
    type: z.literal('participant-left'),
    ...stamp,
    participant: participantSchema,
    participant_count: z.number().int(),
    /** `removed`: a host or co-host took them out of the party; they cannot come back. */
    reason: z.enum(['left', 'removed']).default('left'),
  }),
  z.object({ type: z.literal('role-changed'), ...stamp, participant: participantSchema }),
  z.object({
    type: z.literal('queue-updated'),
    ...stamp,
    queue: z.array(clipSchema),
    current_clip_id: z.string().nullable(),
    current_clip_index: z.number().int(),
  }),
  z.object({ type: z.literal('party-ended'), ...stamp, reason: z.enum(['host', 'idle']) }),
  /** Sent first on every connection, and again after a slow client catches up. */
  z.object({
    type: z.literal('state'),
    ...stamp,
    you: z.object({ user_id: z.string(), role: roleSchema }),
    party: partyDetailSchema,
  }),
  /** Someone's reaction, for every page to float over the video. */
  z.object({
    type: z.literal('reaction'),
    party_id: z.string(),
    user_id: z.string(),
    emoji: z.enum(REACTION_EMOJI),
    server_time_ms: z.number(),
    video_timestamp: z.number().optional(),
  }),
  /** Right after `state`, on every (re)connect: the kept messages, oldest first, and who may talk. */
  z.object({ type: z.literal('chat_history'), messages: z.array(chatMessageSchema), chat: chatSettingSchema }),
  z.object({ type: z.literal('chat_message'), chat_message: chatMessageSchema }),
  z.object({ type: z.literal('chat_deleted'), message_id: z.string() }),
  /** To everyone but the typer. */
  z.object({ type: z.literal('typing'), user_id: z.string(), display_name: z.string(), is_typing: z.boolean() }),
  z.object({ type: z.literal('chat_settings'), chat: chatSettingSchema }),
  z.object({
    type: z.literal('pong'),
    client_time: z.number(),
    server_time_ms: z.number(),
  }),
  z.object({
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    /** The type of the client message that failed, when it could be read. */
    request_type: z.string().nullable(),
  }),
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;
