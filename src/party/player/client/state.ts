// The one state object of the page: which party, who this page is, the people, the queue and what
// the room says about playback. Views read it and the socket's handlers write it; nothing else holds
// a copy.
import type { ChatSetting, Clip, Participant, Role } from './types.js';

export const state = {
  partyId: '',
  me: { user_id: '', role: 'viewer' as Role },
  /** The last applied message's seq; -1 until a `state` arrives (on every connection). */
  lastSeq: -1,
  inviteUrl: '',
  ended: false,
  participants: new Map<string, Participant>(),
  queue: [] as Clip[],
  currentClipId: null as string | null,
  /** The clip the element has (or is loading); null while nothing is loaded. */
  loadedClipId: null as string | null,
  /** The live window from the last playback message, and when (client clock) it was received. */
  liveWindow: null as { start: number; live_point: number; edge: number; at: number } | null,
  /** Wait for everyone: the party's setting, and who the room is holding for (null: not holding). */
  waitForEveryone: false,
  holdingFor: null as Array<{ user_id: string; display_name: string }> | null,
  /** Who may talk in the chat (the party's setting). */
  chat: 'everyone' as ChatSetting,
  /** The host is dragging the seek bar: renders leave its value alone. */
  seekDragging: false,
};

export function isController(): boolean {
  return state.me.role === 'host' || state.me.role === 'co-host';
}
