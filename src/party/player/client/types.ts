// The shapes the page receives from the party server (its REST answers and socket messages), as
// far as the page reads them. The server's own definitions are in ../../protocol.ts.
import type { ReactionEmoji } from '../../reactions.js';

export type Role = 'host' | 'co-host' | 'viewer';
export interface Participant {
  user_id: string;
  display_name: string;
  role: Role;
  /** Joined with a name only (absent from older servers). */
  guest?: boolean;
}
/** Who may talk in the party's chat: everyone, members (not guests), or nobody. */
export type ChatSetting = 'everyone' | 'members' | 'off';
export interface ChatMessage {
  id: string;
  watch_party_id: string;
  user_id: string;
  display_name: string;
  avatar_url?: string | null;
  /** Plain text: only ever set with textContent (links are built from it, never parsed as HTML). */
  message: string;
  created_at: string;
  source: 'web' | 'discord';
}
/** A live clip's shared content clock (see src/party/hls.ts); positions are content seconds after `epoch`. */
export interface LiveClock {
  clock: 'pdt' | 'sequence';
  epoch: number;
  target_duration: number;
}
export interface Clip {
  id: string;
  title: string;
  media_type: 'hls' | 'mp4' | 'webm';
  duration: number | null;
  live?: LiveClock | null;
}
export interface Playback {
  party_id: string;
  clip_id: string | null;
  position: number;
  is_playing: boolean;
  playback_rate: number;
  anchor_position: number;
  anchor_server_time_ms: number;
  duration: number | null;
  seq: number;
  /** Wait for everyone: stopped for these members, not by a host (absent from older servers). */
  hold?: boolean;
  waiting_for?: Array<{ user_id: string; display_name: string }>;
  /** A live clip's window at server_time_ms, in positions; it slides on at 1 s/s. */
  live?: { start: number; live_point: number; edge: number } | null;
  server_time_ms: number;
  reason?: 'live-window' | null;
}
export interface PartyDetail {
  id: string;
  title: string;
  invite_url: string;
  visibility: 'public' | 'private';
  invite_code: string;
  participants: Array<{ user_id: string; role: Role; guest?: boolean; user: { display_name: string } }>;
  queue: Clip[];
  current_clip_id: string | null;
  wait_for_everyone?: boolean;
  chat?: ChatSetting;
  playback: Playback;
}
export type ServerMessage =
  | ({ type: 'sync' | 'play' | 'pause' | 'seek' | 'skip' } & Playback)
  | { type: 'state'; seq: number; you: { user_id: string; role: Role }; party: PartyDetail }
  | { type: 'participant-joined' | 'participant-left' | 'role-changed'; seq: number; participant: Participant }
  | { type: 'queue-updated'; seq: number; queue: Clip[]; current_clip_id: string | null }
  | { type: 'party-ended'; seq: number; reason: 'host' | 'idle' }
  | { type: 'pong'; client_time: number; server_time_ms: number }
  | { type: 'reaction'; user_id: string; emoji: ReactionEmoji }
  | { type: 'error'; code: string; message: string; request_type: string | null }
  | { type: 'chat_history'; messages: ChatMessage[]; chat: ChatSetting }
  | { type: 'chat_message'; chat_message: ChatMessage }
  | { type: 'chat_deleted'; message_id: string }
  | { type: 'typing'; user_id: string; display_name: string; is_typing: boolean }
  | { type: 'chat_settings'; chat: ChatSetting };

/** One function per server message type; a view module exports the ones it answers. */
export type MessageHandlers = {
  [Type in ServerMessage['type']]: (message: ServerMessage & { type: Type }) => void;
};
