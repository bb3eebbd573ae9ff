// What the two comparison servers broadcast: a frame with the same fields (and about the same
// size) as the `seek` event our party server sends, so all three move the same bytes per client.
export interface SeekFrame {
  type: 'seek';
  party_id: string;
  clip_id: string;
  clip_index: number;
  position: number;
  is_playing: boolean;
  server_timestamp: number;
  server_time_ms: number;
  playback_rate: number;
  anchor_position: number;
  anchor_server_time_ms: number;
  duration: null;
  seq: number;
  actor_user_id: string;
}

const CLIP_ID = '5b0f0c7e-8a43-4f7e-9d55-2f1a4c6b9e10';

export function seekFrame(room: string, position: number, seq: number, actor: string): SeekFrame {
  const now = Date.now();
  return {
    type: 'seek',
    party_id: room,
    clip_id: CLIP_ID,
    clip_index: 0,
    position,
    is_playing: false,
    server_timestamp: Math.floor(now / 1000),
    server_time_ms: now,
    playback_rate: 1,
    anchor_position: position,
    anchor_server_time_ms: now,
    duration: null,
    seq,
    actor_user_id: actor,
  };
}

/** The room (party) a client belongs to, padded to a uuid's length like a party id. */
export const roomId = (index: number): string => `room-${String(index).padStart(31, '0')}`;
