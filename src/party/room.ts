// One watch party's state and rules, with no I/O and the clock passed in: the authoritative
// timeline (a position anchored to a server time, so "where are we now" is exact at any moment),
// the queue, the participants with their roles, the capacity check, and the wait-for-everyone hold.
// Every change returns the messages to send; the owner side (owner.ts) does the sending, the
// persisting and the timers (it calls tick() at nextDeadline()).
import type { ClipSource, LiveClip, MediaType } from './media.js';
import { sourceToString } from './media.js';
import { REACTION_BURST, REACTION_REFILL_MS, type ReactionEmoji } from './reactions.js';
import type {
  ChatSetting,
  ClipInfo,
  ParticipantInfo,
  ParticipantView,
  PartyCommand,
  PartyDetail,
  PartyErrorCode,
  PlaybackFields,
  Role,
  ServerMessage,
  ServerMessageOf,
  Visibility,
} from './protocol.js';

export const DEFAULT_MAX_PARTICIPANTS = 100;
export const MAX_QUEUE_LENGTH = 200;

/**
 * Wait for everyone: one hold stops the room for at most MAX_HOLD_MS, and each member may hold it
 * for MAX_HOLD_MS in all until they have gone HOLD_RESET_MS without holding it. Whoever is still
 * buffering at a cap is let go and catches up as usual, so a flapping player cannot stop the room
 * again at once. A member with less than MIN_HOLD_MS left is not waited for (a stop that short only
 * stutters).
 */
export const MAX_HOLD_MS = 8_000;
export const HOLD_RESET_MS = 60_000;
const MIN_HOLD_MS = 1_000;
/**
 * What one hold costs the member it waited for, however short: a stop and a restart for everyone.
 * A player flapping buffering true/false runs out of its MAX_HOLD_MS budget after a few holds.
 */
export const HOLD_CHARGE_FLOOR_MS = 1_000;

/** People a host or co-host removed, remembered so they cannot come back (the oldest go first). */
export const MAX_REMOVED = 500;
/** Members who left a private party, remembered while their tokens could still be valid. */
export const MAX_REVOKED = 500;
export const REVOKED_FOR_MS = 12 * 60 * 60 * 1000;
/** Co-hosts who are away keep their role for their return; past this many, the longest away are forgotten. */
export const MAX_AWAY_ROLES = 50;

/** The per-person budget of playback commands, shared by the player, the REST API and Discord. */
export interface CommandLimits {
  perSecond: number;
  burst: number;
}
export const DEFAULT_COMMAND_LIMITS: CommandLimits = { perSecond: 2, burst: 10 };

/**
 * A live party plays this many segments behind the live edge: every player has them loaded or on
 * the way, so a start there does not stall (hls.js's own default distance).
 */
export const LIVE_BEHIND_SEGMENTS = 3;
const LIVE_FLOOR_MARGIN_S = 1;

export interface Clip {
  id: string;
  title: string;
  source: ClipSource;
  mediaType: MediaType;
  duration: number | null;
  thumbnailUrl: string | null;
  addedBy: string;
  addedAt: number;
  /** Set for a live stream: its positions are content time, not a player's currentTime. */
  live?: LiveClip;
}

export interface Member {
  participantId: string;
  userId: string;
  displayName: string;
  avatarUrl: string | null;
  role: Role;
  guest: boolean;
  joinedAt: number;
  /** Counted against max_participants; false after leaving (the role is remembered for a return). */
  present: boolean;
  /** Wait for everyone: this member's player last said it cannot play. */
  buffering?: boolean;
  /** Hold time used since the budget was last full, and when this member last stopped holding the room. */
  heldMs?: number;
  heldAt?: number;
  /** A guest: a keyed hash of the address they joined from, so a removal keeps that address out too. */
  addressKey?: string;
  /** When a co-host who is away left (they keep their role for their return). */
  leftAt?: number;
}

/** Someone a host or co-host removed: not let in again with the same account (a guest: nor from the same address). */
export interface Removal {
  userId: string;
  at: number;
  addressKey?: string;
}

/** Someone who left a private party: tokens issued to them until `at` no longer let them in. */
export interface Revocation {
  userId: string;
  at: number;
}

/** The room is stopped because these members are buffering; the timeline is paused at the hold's position. */
export interface Hold {
  since: number;
  /** `until`: when the room stops waiting for this member (their budget, or the hold's cap). */
  waiting: Array<{ userId: string; from: number; until: number }>;
}

export interface Timeline {
  /** -1 while the queue is empty. */
  clipIndex: number;
  anchorPosition: number;
  /** Server ms at which the clip was at anchorPosition. */
  anchorTime: number;
  rate: number;
  playing: boolean;
  /** The current clip has not played yet (a live one then starts at the live point, wherever it was paused). */
  unstarted?: boolean;
}

/** The durable state of a party: what store.parties keeps and a restart brings back. */
export interface PartyRecord {
  v: 1;
  id: string;
  inviteCode: string;
  title: string;
  visibility: Visibility;
  maxParticipants: number;
  /** The room holds while any participant's player is buffering (capped); absent in older records. */
  waitForEveryone?: boolean;
  /** Who may talk in the party's chat (chat.ts); absent in older records: everyone. */
  chat?: ChatSetting;
  hostUserId: string;
  createdAt: number;
  startedAt: number | null;
  queue: Clip[];
  timeline: Timeline;
  members: Member[];
  /** Set while the room holds for someone buffering (wait for everyone); persisted so a restart ends it. */
  hold?: Hold;
  seq: number;
  removed?: Removal[];
  revoked?: Revocation[];
}

/** What changed since the writer last asked (persistence.ts); the timeline goes with every change. */
export interface RoomChanges {
  /** Settings, the queue, roles, removals, revocations: written before a change is acknowledged. */
  core: boolean;
  /** Who is present. */
  members: boolean;
}

/** What PartyRoom.timelineRecord() keeps: written on every change, the full record less often. */
export interface TimelineRecord {
  seq: number;
  timeline: Timeline;
  hold?: Hold | undefined;
}

export interface JoiningUser {
  id: string;
  name: string;
  avatar: string | null;
  guest: boolean;
  /** A guest's address, as a keyed hash (see Member.addressKey). */
  addressKey?: string | undefined;
}

/** Who asks to see or enter a party: a token's user, the party it is scoped to, and when it was issued. */
export interface Entrant {
  userId: string;
  tokenPartyId: string | null;
  /** ms */
  issuedAt: number;
}

export interface RoomError {
  code: PartyErrorCode;
  message: string;
  status: 400 | 403 | 404 | 409 | 429;
}

/** `actor`: only the connection (or caller) that sent the command; `all`: every socket of the party. */
export interface RoomEvent {
  to: 'all' | 'actor';
  message: ServerMessage;
}

export type RoomResult = { ok: true; events: RoomEvent[]; changed: boolean } | { ok: false; error: RoomError };

const CONTROL = new Set<PartyCommand['type']>([
  'play',
  'pause',
  'seek',
  'go-live',
  'skip',
  'set-rate',
  'clip-duration',
]);

const unchanged = (): RoomResult => ({ ok: true, changed: false, events: [] });

const COMMANDS_EXHAUSTED: RoomError = {
  status: 429,
  code: 'RATE_LIMITED',
  message: 'too many playback commands: wait a moment',
};
const commandsExhausted = (): RoomResult => ({ ok: false, error: COMMANDS_EXHAUSTED });

const fail = (status: RoomError['status'], code: PartyErrorCode, message: string): RoomResult => ({
  ok: false,
  error: { status, code, message },
});

const iso = (ms: number): string => new Date(ms).toISOString();
/** Milliseconds are all a player can use; fewer digits keep frames small. */
const round3 = (value: number): number => Math.round(value * 1000) / 1000;

export function clipInfo(clip: Clip): ClipInfo {
  return {
    id: clip.id,
    title: clip.title,
    source: sourceToString(clip.source),
    kind: clip.source.kind,
    media_type: clip.mediaType,
    duration: clip.duration,
    thumbnail_url: clip.thumbnailUrl,
    added_by: clip.addedBy,
    added_at: iso(clip.addedAt),
    live: clip.live
      ? { clock: clip.live.clock, epoch: clip.live.epoch, target_duration: clip.live.targetDuration }
      : null,
  };
}

type Bucket = { tokens: number; at: number };

/** Takes one token from a user's bucket (full at first, refilled one per `refillMs`); false when empty. */
function spend(buckets: Map<string, Bucket>, userId: string, burst: number, refillMs: number, now: number): boolean {
  const bucket = buckets.get(userId) ?? { tokens: burst, at: now };
  bucket.tokens = Math.min(burst, bucket.tokens + Math.max(0, now - bucket.at) / refillMs);
  bucket.at = now;
  buckets.set(userId, bucket);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

export class PartyRoom {
  /** Reaction and command budgets by user: in memory only (never in the record), gone when they leave. */
  private readonly reactionBudgets = new Map<string, Bucket>();
  private readonly commandBudgets = new Map<string, Bucket>();
  private readonly changes: RoomChanges = { core: false, members: false };

  private constructor(
    private readonly state: PartyRecord,
    private readonly publicUrl: string,
    private readonly commandLimits: CommandLimits,
  ) {}

  static create(input: {
    id: string;
    inviteCode: string;
    title: string;
    visibility: Visibility;
    maxParticipants: number;
    waitForEveryone?: boolean;
    chat?: ChatSetting;
    host: JoiningUser;
    hostParticipantId: string;
    publicUrl: string;
    now: number;
    commandLimits?: CommandLimits;
  }): PartyRoom {
    const { now, host } = input;
    const room = new PartyRoom(
      {
        v: 1,
        id: input.id,
        inviteCode: input.inviteCode,
        title: input.title,
        visibility: input.visibility,
        maxParticipants: input.maxParticipants,
        waitForEveryone: input.waitForEveryone === true,
        chat: input.chat ?? 'everyone',
        hostUserId: host.id,
        createdAt: now,
        startedAt: null,
        queue: [],
        timeline: { clipIndex: -1, anchorPosition: 0, anchorTime: now, rate: 1, playing: false },
        members: [
          {
            participantId: input.hostParticipantId,
            userId: host.id,
            displayName: host.name,
            avatarUrl: host.avatar,
            role: 'host',
            guest: host.guest,
            joinedAt: now,
            present: true,
          },
        ],
        seq: 1,
      },
      input.publicUrl,
      input.commandLimits ?? DEFAULT_COMMAND_LIMITS,
    );
    room.touch('core', 'members');
    return room;
  }

  static fromRecord(record: PartyRecord, publicUrl: string, commandLimits = DEFAULT_COMMAND_LIMITS): PartyRoom {
    return new PartyRoom(structuredClone(record), publicUrl, commandLimits);
  }

  toRecord(): PartyRecord {
    return structuredClone(this.state);
  }

  /** The record without its members: what must be on disk before a change is acknowledged. */
  coreRecord(): Omit<PartyRecord, 'members'> {
    const core: Partial<PartyRecord> = { ...this.state };
    delete core.members;
    return structuredClone(core as Omit<PartyRecord, 'members'>);
  }

  /** Who is present, and the co-hosts who are away (the viewers who left are forgotten). */
  memberRecords(): Member[] {
    return structuredClone(this.state.members);
  }

  private touch(...parts: Array<keyof RoomChanges>): void {
    for (const part of parts) this.changes[part] = true;
  }

  /** What changed since the last call, for the writer; the timeline is written with every change. */
  takeChanges(): RoomChanges {
    const taken = { ...this.changes };
    this.changes.core = false;
    this.changes.members = false;
    return taken;
  }

  /** Whether a change of the core waits to be written. */
  get coreChanged(): boolean {
    return this.changes.core;
  }

  /** The part of the record that moves with every command: small, so it can be written each time. */
  timelineRecord(): TimelineRecord {
    return structuredClone({ seq: this.state.seq, timeline: this.state.timeline, hold: this.state.hold });
  }

  /** A record brought up to date with a timeline written after it (when it fits the record's queue). */
  static withTimeline(record: PartyRecord, latest: TimelineRecord | undefined): PartyRecord {
    if (!latest || latest.seq <= record.seq || latest.timeline.clipIndex >= record.queue.length) return record;
    const merged: PartyRecord = { ...record, seq: latest.seq, timeline: latest.timeline };
    if (latest.hold) merged.hold = latest.hold;
    else delete merged.hold;
    return merged;
  }

  get id(): string {
    return this.state.id;
  }
  get inviteCode(): string {
    return this.state.inviteCode;
  }
  get inviteUrl(): string {
    return `${this.publicUrl}/watch-parties/${this.state.inviteCode}`;
  }
  get chatSetting(): ChatSetting {
    return this.state.chat ?? 'everyone';
  }

  /** A host or co-host sets who may talk in the chat. */
  setChatSetting(actorUserId: string, chat: ChatSetting): RoomResult {
    const actor = this.member(actorUserId);
    if (actor?.role !== 'host' && actor?.role !== 'co-host') {
      return fail(403, 'NOT_HOST', 'only the host and co-hosts can change who may chat');
    }
    if (this.chatSetting === chat) return unchanged();
    this.state.chat = chat;
    this.changes.core = true;
    return { ok: true, changed: true, events: [{ to: 'all', message: { type: 'chat_settings', chat } }] };
  }

  get visibility(): Visibility {
    return this.state.visibility;
  }
  get hostUserId(): string {
    return this.state.hostUserId;
  }
  get title(): string {
    return this.state.title;
  }
  get seq(): number {
    return this.state.seq;
  }
  get maxParticipants(): number {
    return this.state.maxParticipants;
  }

  member(userId: string): Member | undefined {
    return this.state.members.find((member) => member.userId === userId);
  }

  presentMembers(): Member[] {
    return this.state.members.filter((member) => member.present);
  }

  /** The host always holds a seat, present or not, so the host can always come back. */
  seatsTaken(): number {
    return 1 + this.state.members.filter((member) => member.present && member.role !== 'host').length;
  }

  currentClip(): Clip | undefined {
    return this.state.queue[this.state.timeline.clipIndex];
  }

  clip(clipId: string): Clip | undefined {
    return this.state.queue.find((clip) => clip.id === clipId);
  }

  /** The position now: the anchor moved on by the elapsed server time × rate, kept within the clip. */
  position(now: number): number {
    const { anchorPosition, anchorTime, rate, playing } = this.state.timeline;
    const raw = playing ? anchorPosition + (Math.max(0, now - anchorTime) / 1000) * rate : anchorPosition;
    return this.clamp(raw);
  }

  /**
   * The current clip's live window now, in positions; null for a recording. `floor` is the earliest
   * position a player that has nothing buffered can still load (a second past the window's start),
   * `livePoint` where a live party plays.
   */
  liveWindow(now: number): { start: number; end: number; floor: number; livePoint: number } | null {
    const live = this.currentClip()?.live;
    if (!live) return null;
    const slid = (now - live.window.at) / 1000;
    const start = live.window.start + slid;
    const end = live.window.end + slid;
    const floor = Math.min(start + LIVE_FLOOR_MARGIN_S, end);
    return { start, end, floor, livePoint: Math.max(floor, end - LIVE_BEHIND_SEGMENTS * live.targetDuration) };
  }

  /** A position moved into what a live window can play (unchanged for a recording). */
  private withinWindow(position: number, now: number): number {
    const window = this.liveWindow(now);
    return window ? Math.min(window.livePoint, Math.max(window.floor, position)) : position;
  }

  /**
   * A new read of a live clip's playlist (content seconds on its clock). The window the room slides
   * on is kept while the read agrees with it within a segment and a half: a playlist only grows a
   * segment at a time, so reads land up to a segment behind the slide, and following each one would
   * make "n s behind live" flicker. A stream that stalled or restarted moves further than that: then
   * the window is set from the read and players get it in a `sync`.
   */
  updateLiveWindow(clipId: string, window: { start: number; end: number }, now: number): RoomResult {
    const clip = this.clip(clipId);
    if (!clip?.live) return unchanged();
    const { live } = clip;
    const slidEnd = live.window.end + (now - live.window.at) / 1000;
    if (Math.abs(slidEnd - (window.end - live.epoch)) <= 1.5 * live.targetDuration) return unchanged();
    live.window = { start: window.start - live.epoch, end: window.end - live.epoch, at: now };
    this.touch('core');
    return clip === this.currentClip() ? this.changed(now, null, 'sync') : { ok: true, changed: true, events: [] };
  }

  private clamp(position: number): number {
    const duration = this.currentClip()?.duration ?? null;
    const floor = Math.max(0, position);
    return duration === null ? floor : Math.min(floor, duration);
  }

  playback(now: number, actorUserId: string | null = null): PlaybackFields {
    const { timeline } = this.state;
    const clip = this.currentClip();
    const window = this.liveWindow(now);
    return {
      party_id: this.state.id,
      clip_id: clip?.id ?? null,
      clip_index: clip ? timeline.clipIndex : -1,
      position: round3(this.position(now)),
      is_playing: timeline.playing,
      server_timestamp: Math.floor(now / 1000),
      server_time_ms: now,
      playback_rate: timeline.rate,
      anchor_position: round3(timeline.anchorPosition),
      anchor_server_time_ms: timeline.anchorTime,
      duration: clip?.duration ?? null,
      seq: this.state.seq,
      actor_user_id: actorUserId,
      hold: this.state.hold !== undefined,
      waiting_for: (this.state.hold?.waiting ?? []).map(({ userId }) => ({
        user_id: userId,
        display_name: this.member(userId)?.displayName ?? userId,
      })),
      live: window
        ? { start: round3(window.floor), live_point: round3(window.livePoint), edge: round3(window.end) }
        : null,
      reason: null,
    };
  }

  private stamp(now: number) {
    return {
      party_id: this.state.id,
      server_timestamp: Math.floor(now / 1000),
      server_time_ms: now,
      seq: this.state.seq,
    };
  }

  participantInfo(member: Member): ParticipantInfo {
    return {
      user_id: member.userId,
      display_name: member.displayName,
      avatar_url: member.avatarUrl,
      role: member.role,
      guest: member.guest,
    };
  }

  participantViews(): ParticipantView[] {
    return this.presentMembers().map((member) => ({
      id: member.participantId,
      user_id: member.userId,
      role: member.role,
      joined_at: iso(member.joinedAt),
      guest: member.guest,
      user: { username: member.displayName, display_name: member.displayName, avatar_url: member.avatarUrl },
    }));
  }

  detail(now: number): PartyDetail {
    const playback = this.playback(now);
    const participants = this.participantViews();
    return {
      id: this.state.id,
      host_user_id: this.state.hostUserId,
      title: this.state.title,
      current_clip_id: playback.clip_id,
      current_position_seconds: playback.position,
      is_playing: playback.is_playing,
      visibility: this.state.visibility,
      invite_code: this.state.inviteCode,
      invite_url: this.inviteUrl,
      max_participants: this.state.maxParticipants,
      wait_for_everyone: this.state.waitForEveryone === true,
      chat: this.chatSetting,
      participants,
      participant_count: participants.length,
      created_at: iso(this.state.createdAt),
      started_at: this.state.startedAt === null ? null : iso(this.state.startedAt),
      queue: this.state.queue.map(clipInfo),
      playback,
    };
  }

  stateMessage(userId: string, now: number): ServerMessageOf<'state'> {
    return {
      type: 'state',
      ...this.stamp(now),
      you: { user_id: userId, role: this.member(userId)?.role ?? 'viewer' },
      party: this.detail(now),
    };
  }

  syncMessage(now: number, actorUserId: string | null = null): ServerMessageOf<'sync'> {
    return { type: 'sync', ...this.playback(now, actorUserId) };
  }

  private markStarted(now: number): void {
    if (this.state.startedAt !== null) return;
    this.state.startedAt = now;
    this.touch('core');
  }

  private reanchor(now: number, position: number): void {
    const { timeline } = this.state;
    timeline.anchorPosition = this.clamp(position);
    timeline.anchorTime = now;
  }

  /**
   * play / pause / seek / skip / set-rate / clip-duration / sync-request / reaction, with the role
   * check. `stallMs`: how long the server was just held up (stallClock.ts), forgiven in the budget.
   */
  applyCommand(actorUserId: string, command: PartyCommand, now: number, stallMs = 0): RoomResult {
    const actor = this.member(actorUserId);
    if (!actor) return fail(403, 'NOT_PARTICIPANT', 'join the party first');
    if (command.type === 'reaction') return this.react(actor, command.emoji, command.video_timestamp, now);
    if (command.type === 'sync-request') {
      return { ok: true, changed: false, events: [{ to: 'actor', message: this.syncMessage(now) }] };
    }
    if (command.type === 'buffering') {
      // Any member may say so (it is how a viewer's stall holds the room), but only this setting listens.
      if (!this.state.waitForEveryone) return unchanged();
      actor.buffering = command.buffering;
      return this.settleHold(now, actorUserId);
    }
    if (CONTROL.has(command.type)) {
      if (actor.role === 'viewer') return fail(403, 'NOT_ALLOWED', 'only the host and co-hosts control playback');
      if (!this.spendCommand(actor.userId, now, stallMs)) return commandsExhausted();
    }
    const { timeline } = this.state;
    if (command.type === 'clip-duration') {
      const clip = this.clip(command.clip_id);
      if (!clip) return fail(400, 'UNKNOWN_CLIP', 'no such clip in the queue');
      // A live stream has no length; what a player reports is only its window so far.
      if (clip.live) return unchanged();
      // Re-anchor first so the position reported until now is kept, then clamp to the new length.
      if (clip === this.currentClip()) this.reanchor(now, this.position(now));
      clip.duration = command.duration;
      this.touch('core');
      if (clip === this.currentClip()) this.reanchor(now, timeline.anchorPosition);
      return this.changed(now, actorUserId, 'sync');
    }
    if (this.state.queue.length === 0) return fail(409, 'EMPTY_QUEUE', 'the queue is empty: add a clip first');

    switch (command.type) {
      case 'play':
        if (this.state.hold) {
          // The room already means to play and is waiting for someone: play keeps waiting (a
          // position moves where it waits), so a host cannot drag a straggler along by pressing play.
          if (command.position === undefined) {
            return { ok: true, changed: false, events: [{ to: 'actor', message: this.syncMessage(now) }] };
          }
          this.reanchor(now, this.withinWindow(command.position, now));
          return this.changed(now, actorUserId, 'seek');
        }
        {
          // A live clip starts at the live point the first time, and after a pause the window has
          // left behind; it resumes from a pause the window still holds.
          const window = this.liveWindow(now);
          const resumeAt = command.position ?? this.position(now);
          const toLive = window && (timeline.unstarted === true || (!timeline.playing && resumeAt < window.floor));
          this.reanchor(now, window && toLive ? window.livePoint : this.withinWindow(resumeAt, now));
        }
        timeline.playing = true;
        delete timeline.unstarted;
        this.markStarted(now);
        return this.changed(now, actorUserId, this.startHold(now) ? 'pause' : 'play');
      case 'pause':
        // A host's pause ends a hold: the room stays paused until someone presses play.
        this.reanchor(now, this.withinWindow(command.position ?? this.position(now), now));
        timeline.playing = false;
        this.endHold(now);
        return this.changed(now, actorUserId, 'pause');
      case 'seek':
        // During a hold the room keeps waiting, at the new position. A live clip seeks within its window.
        this.reanchor(now, this.withinWindow(command.position, now));
        return this.changed(now, actorUserId, 'seek');
      case 'go-live': {
        const window = this.liveWindow(now);
        if (!window) return fail(409, 'NOT_LIVE', 'the current clip is not a live stream');
        this.reanchor(now, window.livePoint);
        if (this.state.hold) return this.changed(now, actorUserId, 'seek');
        timeline.playing = true;
        delete timeline.unstarted;
        this.markStarted(now);
        return this.changed(now, actorUserId, this.startHold(now) ? 'pause' : 'play');
      }
      case 'set-rate':
        if (this.currentClip()?.live) return fail(409, 'LIVE_RATE', 'a live stream plays at its own pace');
        this.reanchor(now, this.position(now));
        timeline.rate = command.playback_rate;
        return this.changed(now, actorUserId, 'sync');
      case 'skip': {
        let index: number;
        if (command.clip_id !== undefined) {
          index = this.state.queue.findIndex((clip) => clip.id === command.clip_id);
          if (index < 0) return fail(400, 'UNKNOWN_CLIP', 'no such clip in the queue');
        } else {
          index = timeline.clipIndex + 1;
          if (index >= this.state.queue.length) return fail(409, 'END_OF_QUEUE', 'this is the last clip in the queue');
        }
        // A new clip ends the old hold; whoever is still buffering is waited for on the new one.
        this.endHold(now);
        timeline.clipIndex = index;
        timeline.anchorPosition = this.liveWindow(now)?.livePoint ?? 0;
        timeline.anchorTime = now;
        timeline.playing = true;
        delete timeline.unstarted;
        this.markStarted(now);
        this.startHold(now);
        return this.changed(now, actorUserId, 'skip');
      }
    }
  }

  private spendCommand(userId: string, now: number, stallMs = 0): boolean {
    const { burst, perSecond } = this.commandLimits;
    // A backlog the server read late (after a stall) may run over the burst by what the stall refilled.
    return spend(this.commandBudgets, userId, burst + (stallMs / 1000) * perSecond, 1000 / perSecond, now);
  }

  /** Before a clip is looked up: the actor may add one, and it is taken from their command budget. */
  mayAddClip(actorUserId: string, now: number): RoomError | null {
    const actor = this.member(actorUserId);
    if (!actor) return { status: 403, code: 'NOT_PARTICIPANT', message: 'join the party first' };
    if (actor.role === 'viewer') {
      return { status: 403, code: 'NOT_ALLOWED', message: 'only the host and co-hosts add clips' };
    }
    return this.spendCommand(actorUserId, now) ? null : COMMANDS_EXHAUSTED;
  }

  /** A present member's reaction goes to everyone, within their budget; nothing about it is kept. */
  private react(actor: Member, emoji: ReactionEmoji, videoTimestamp: number | undefined, now: number): RoomResult {
    if (!actor.present) return fail(403, 'NOT_PARTICIPANT', 'join the party first');
    if (!spend(this.reactionBudgets, actor.userId, REACTION_BURST, REACTION_REFILL_MS, now)) {
      return fail(429, 'RATE_LIMITED', 'too many reactions: wait a moment');
    }
    const message: ServerMessage = {
      type: 'reaction',
      party_id: this.state.id,
      user_id: actor.userId,
      emoji,
      server_time_ms: now,
      ...(videoTimestamp !== undefined && { video_timestamp: videoTimestamp }),
    };
    return { ok: true, changed: false, events: [{ to: 'all', message }] };
  }

  private changed(
    now: number,
    actorUserId: string | null,
    type: 'sync' | 'play' | 'pause' | 'seek' | 'skip',
    reason: PlaybackFields['reason'] = null,
  ): RoomResult {
    this.state.seq++;
    const fields = { ...this.playback(now, actorUserId), reason };
    const message: ServerMessage =
      type === 'skip' ? { type, ...fields, clip: this.currentClipInfo() } : { type, ...fields };
    return { ok: true, changed: true, events: [{ to: 'all', message }] };
  }

  private currentClipInfo(): ClipInfo | null {
    const clip = this.currentClip();
    return clip ? clipInfo(clip) : null;
  }

  /**
   * Makes a user present. Synchronous on purpose: the capacity check and the insert happen in one
   * tick, so concurrent joins cannot overshoot max_participants. Returning co-hosts keep their role.
   */
  join(user: JoiningUser, now: number, newParticipantId: () => string): RoomResult & { joined?: boolean } {
    if (this.isRemoved(user.id, user.addressKey)) {
      return fail(403, 'REMOVED', 'the host removed you from this party');
    }
    const existing = this.member(user.id);
    if (existing?.present) {
      // Another tab, or a refreshed token: refresh the name and avatar people see next time.
      existing.displayName = user.name;
      existing.avatarUrl = user.avatar;
      return { ok: true, changed: false, events: [], joined: false };
    }
    const isHost = user.id === this.state.hostUserId;
    if (!isHost && this.seatsTaken() >= this.state.maxParticipants) {
      return fail(403, 'PARTY_FULL', `the party is full (${this.state.maxParticipants} participants)`);
    }
    let member = existing;
    if (member) {
      member.present = true;
      delete member.buffering; // whatever an old tab said, a new one says again
      delete member.leftAt;
      member.joinedAt = now;
      member.displayName = user.name;
      member.avatarUrl = user.avatar;
    } else {
      member = {
        participantId: newParticipantId(),
        userId: user.id,
        displayName: user.name,
        avatarUrl: user.avatar,
        role: 'viewer',
        guest: user.guest,
        joinedAt: now,
        present: true,
        ...(user.addressKey !== undefined && { addressKey: user.addressKey }),
      };
      this.state.members.push(member);
    }
    // Joining again (by the invite code) lets in again someone who had left.
    const revoked = this.state.revoked ?? [];
    if (revoked.some((entry) => entry.userId === user.id)) {
      this.state.revoked = revoked.filter((entry) => entry.userId !== user.id);
      this.touch('core');
    }
    this.touch('members');
    this.state.seq++;
    const message: ServerMessage = {
      type: 'participant-joined',
      ...this.stamp(now),
      participant: this.participantInfo(member),
      participant_count: this.presentMembers().length,
    };
    return { ok: true, changed: true, events: [{ to: 'all', message }], joined: true };
  }

  /**
   * A member is no longer there. A viewer is forgotten at once (their budgets too), so a party's
   * record holds who is present and nobody else however many come and go; the host and co-hosts
   * keep their role for their return.
   */
  leave(userId: string, now: number): RoomResult {
    const member = this.member(userId);
    if (!member?.present) return { ok: true, changed: false, events: [] };
    member.present = false;
    delete member.buffering;
    if (member.role === 'viewer') this.forget(member);
    else {
      member.leftAt = now;
      this.forgetLongestAway();
    }
    return this.departed(member, now, 'left');
  }

  /**
   * A host or co-host takes someone out of the party: they are not let in again with the same
   * account (a guest: nor from the same address). The host removes anyone else; a co-host, viewers.
   */
  remove(actorUserId: string, targetUserId: string, now: number): RoomResult {
    const actor = this.member(actorUserId);
    if (!actor) return fail(403, 'NOT_PARTICIPANT', 'join the party first');
    if (actor.role === 'viewer') return fail(403, 'NOT_ALLOWED', 'only the host and co-hosts remove people');
    const target = this.member(targetUserId);
    if (!target) return fail(404, 'UNKNOWN_PARTICIPANT', 'that user is not in this party');
    if (target.userId === actorUserId) return fail(400, 'INVALID_INPUT', 'you cannot remove yourself');
    if (target.role === 'host') return fail(403, 'NOT_HOST', 'the host cannot be removed');
    if (target.role === 'co-host' && actor.role !== 'host') {
      return fail(403, 'NOT_HOST', 'only the host removes a co-host');
    }
    const wasPresent = target.present;
    target.present = false;
    this.forget(target);
    const removed = this.state.removed ?? [];
    removed.push({
      userId: target.userId,
      at: now,
      ...(target.addressKey !== undefined && { addressKey: target.addressKey }),
    });
    this.state.removed = removed.slice(-MAX_REMOVED);
    this.touch('core');
    if (wasPresent) return this.departed(target, now, 'removed');
    this.state.seq++;
    return { ok: true, changed: true, events: [] };
  }

  /** Everyone hears that a member went; the room stops waiting for them if it was. */
  private departed(member: Member, now: number, reason: 'left' | 'removed'): RoomResult {
    this.touch('members');
    this.state.seq++;
    const message: ServerMessage = {
      type: 'participant-left',
      ...this.stamp(now),
      participant: this.participantInfo(member),
      participant_count: this.presentMembers().length,
      reason,
    };
    const events: RoomEvent[] = [{ to: 'all', message }];
    if (this.state.hold) {
      const settled = this.settleHold(now, null);
      if (settled.ok) events.push(...settled.events);
    }
    return { ok: true, changed: true, events };
  }

  private forget(member: Member): void {
    this.state.members = this.state.members.filter((other) => other !== member);
    this.reactionBudgets.delete(member.userId);
    this.commandBudgets.delete(member.userId);
    this.touch('members');
  }

  /** Keeps the co-hosts who are away to MAX_AWAY_ROLES, forgetting the longest away first. */
  private forgetLongestAway(): void {
    const away = this.state.members.filter((member) => !member.present && member.role === 'co-host');
    away.sort((a, b) => (a.leftAt ?? 0) - (b.leftAt ?? 0));
    for (const member of away.slice(0, Math.max(0, away.length - MAX_AWAY_ROLES))) this.forget(member);
  }

  /**
   * Someone left a private party on purpose: the tokens they hold stop letting them in (a token is
   * the invitation to a private party). Joining again by the invite code lets them in again.
   */
  revoke(userId: string, now: number): void {
    if (userId === this.state.hostUserId) return;
    const kept = (this.state.revoked ?? []).filter(
      (entry) => entry.userId !== userId && entry.at > now - REVOKED_FOR_MS,
    );
    kept.push({ userId, at: now });
    this.state.revoked = kept.slice(-MAX_REVOKED);
    this.touch('core');
  }

  isRemoved(userId: string, addressKey?: string): boolean {
    return (this.state.removed ?? []).some(
      (entry) => entry.userId === userId || (addressKey !== undefined && entry.addressKey === addressKey),
    );
  }

  /**
   * May this token's holder see the party and come in? Nobody removed. A public party: anyone else.
   * A private one: who is present, and whoever holds a token for it (a co-host who is away, a
   * member the bot let in) unless they left after it was issued.
   */
  admits(entrant: Entrant): boolean {
    if (this.isRemoved(entrant.userId)) return false;
    if (this.state.visibility === 'public') return true;
    const member = this.member(entrant.userId);
    if (member?.present) return true;
    if (!member && entrant.tokenPartyId !== this.state.id) return false;
    return !(this.state.revoked ?? []).some((entry) => entry.userId === entrant.userId && entrant.issuedAt <= entry.at);
  }

  addClip(actorUserId: string, clip: Clip, now: number): RoomResult {
    const actor = this.member(actorUserId);
    if (!actor) return fail(403, 'NOT_PARTICIPANT', 'join the party first');
    if (actor.role === 'viewer') return fail(403, 'NOT_ALLOWED', 'only the host and co-hosts add clips');
    return this.appendClip(clip, now, actorUserId);
  }

  /** For the host's first clip at creation, before anyone else could act. */
  appendClip(clip: Clip, now: number, actorUserId: string | null): RoomResult {
    if (this.state.queue.length >= MAX_QUEUE_LENGTH) {
      return fail(409, 'QUEUE_FULL', `the queue holds at most ${MAX_QUEUE_LENGTH} clips`);
    }
    this.state.queue.push(clip);
    this.touch('core');
    const events: RoomEvent[] = [];
    const { timeline } = this.state;
    if (timeline.clipIndex < 0) {
      // The first clip becomes current, paused at its start (a live one: at the live point): the host
      // decides when everyone starts.
      timeline.clipIndex = 0;
      timeline.anchorPosition = this.liveWindow(now)?.livePoint ?? 0;
      timeline.anchorTime = now;
      timeline.playing = false;
      timeline.unstarted = true;
      this.state.seq++;
      events.push({ to: 'all', message: { type: 'skip', ...this.playback(now, actorUserId), clip: clipInfo(clip) } });
    }
    this.state.seq++;
    events.push({
      to: 'all',
      message: {
        type: 'queue-updated',
        ...this.stamp(now),
        queue: this.state.queue.map(clipInfo),
        current_clip_id: this.currentClip()?.id ?? null,
        current_clip_index: timeline.clipIndex,
      },
    });
    return { ok: true, changed: true, events };
  }

  /** Host only; the host's own role never changes. */
  setRole(actorUserId: string, targetUserId: string, role: Exclude<Role, 'host'>, now: number): RoomResult {
    if (actorUserId !== this.state.hostUserId) return fail(403, 'NOT_HOST', 'only the host can change roles');
    const target = this.member(targetUserId);
    if (!target) return fail(404, 'UNKNOWN_PARTICIPANT', 'that user has not joined this party');
    if (target.role === 'host') return fail(400, 'INVALID_INPUT', 'the host is always the host');
    if (target.role === role) return { ok: true, changed: false, events: [] };
    target.role = role;
    if (!target.present && role === 'viewer') this.forget(target);
    this.touch('core', 'members');
    this.state.seq++;
    const message: ServerMessage = {
      type: 'role-changed',
      ...this.stamp(now),
      participant: this.participantInfo(target),
    };
    return { ok: true, changed: true, events: [{ to: 'all', message }] };
  }

  /**
   * When tick() next has something to do (the cap of a wait-for-everyone hold, a stopped live clip
   * leaving its window); null when nothing is due.
   */
  nextDeadline(): number | null {
    const hold = this.state.hold;
    const holdDue = hold
      ? hold.waiting.reduce((due, { until }) => Math.min(due, until), hold.since + MAX_HOLD_MS)
      : null;
    const liveDue = this.liveExpiry();
    if (holdDue === null || liveDue === null) return holdDue ?? liveDue;
    return Math.min(holdDue, liveDue);
  }

  /** When a stopped live clip's position leaves what its window can play; null when none is stopped. */
  private liveExpiry(): number | null {
    const live = this.currentClip()?.live;
    const { timeline } = this.state;
    if (!live || timeline.playing) return null;
    // The window's floor moves on at 1 s/s from its last read; it reaches the stopped position then.
    return live.window.at + (timeline.anchorPosition - live.window.start - LIVE_FLOOR_MARGIN_S) * 1000;
  }

  /**
   * Applies what is due at `now`: a stopped live clip whose position the window has left goes back to
   * the live point (playing, unless it never started), and a hold that reached its cap lets the room
   * play on.
   */
  tick(now: number): RoomResult {
    const expiry = this.liveExpiry();
    if (expiry !== null && expiry <= now) {
      const { timeline } = this.state;
      this.reanchor(now, this.liveWindow(now)!.livePoint);
      if (timeline.unstarted) return this.changed(now, null, 'sync');
      this.endHold(now);
      timeline.playing = true;
      return this.changed(now, null, 'play', 'live-window');
    }
    const hold = this.state.hold;
    if (!hold) return unchanged();
    const due = hold.waiting.filter(({ until }) => until <= now);
    if (due.length === 0 && hold.waiting.length > 0) return unchanged();
    for (const entry of due) {
      const member = this.member(entry.userId);
      if (member) this.release(member, entry, now, true);
    }
    hold.waiting = hold.waiting.filter(({ until }) => until > now);
    return hold.waiting.length === 0 ? this.resume(now, null) : this.changed(now, null, 'pause');
  }

  // ---------------------------------------------------------------------------------------------
  // Wait for everyone

  /** Hold time a member may still use now; the budget is full again after HOLD_RESET_MS without holding. */
  private holdBudget(member: Member, now: number): number {
    if (member.heldAt === undefined || now - member.heldAt >= HOLD_RESET_MS) return MAX_HOLD_MS;
    return Math.max(0, MAX_HOLD_MS - (member.heldMs ?? 0));
  }

  /** Present members who are buffering, are not waited for yet, and have hold time left. */
  private stragglers(now: number): Member[] {
    const waiting = new Set(this.state.hold?.waiting.map(({ userId }) => userId));
    return this.presentMembers().filter(
      (member) =>
        member.buffering === true && !waiting.has(member.userId) && this.holdBudget(member, now) >= MIN_HOLD_MS,
    );
  }

  private wait(member: Member, hold: Hold, now: number): Hold['waiting'][number] {
    const budget = this.holdBudget(member, now);
    member.heldMs = MAX_HOLD_MS - budget; // a budget that came back whole counts from zero again
    return { userId: member.userId, from: now, until: Math.min(now + budget, hold.since + MAX_HOLD_MS) };
  }

  /**
   * Charges the hold to the member (at least HOLD_CHARGE_FLOOR_MS); one the room stopped waiting for
   * at a cap has none left.
   */
  private release(member: Member, entry: Hold['waiting'][number], now: number, capped: boolean): void {
    const cost = Math.max(HOLD_CHARGE_FLOOR_MS, now - entry.from);
    member.heldMs = capped ? MAX_HOLD_MS : Math.min(MAX_HOLD_MS, (member.heldMs ?? 0) + cost);
    member.heldAt = now;
  }

  /** Stops a playing timeline where it is now, if anyone is buffering. True when it did. */
  private startHold(now: number): boolean {
    const { timeline } = this.state;
    if (!this.state.waitForEveryone || this.state.hold || !timeline.playing || !this.currentClip()) return false;
    const stragglers = this.stragglers(now);
    if (stragglers.length === 0) return false;
    this.reanchor(now, this.position(now));
    timeline.playing = false;
    const hold: Hold = { since: now, waiting: [] };
    hold.waiting = stragglers.map((member) => this.wait(member, hold, now));
    this.state.hold = hold;
    return true;
  }

  private endHold(now: number): void {
    for (const entry of this.state.hold?.waiting ?? []) {
      const member = this.member(entry.userId);
      if (member) this.release(member, entry, now, false);
    }
    delete this.state.hold;
  }

  /** Plays on from where the room held, everyone together. */
  private resume(now: number, actorUserId: string | null): RoomResult {
    this.endHold(now);
    this.reanchor(now, this.state.timeline.anchorPosition);
    this.state.timeline.playing = true;
    return this.changed(now, actorUserId, 'play');
  }

  /** After a buffering report or a departure: starts, widens, narrows or ends the hold. */
  private settleHold(now: number, actorUserId: string | null): RoomResult {
    const hold = this.state.hold;
    if (!hold) return this.startHold(now) ? this.changed(now, actorUserId, 'pause') : unchanged();
    const before = hold.waiting.length;
    hold.waiting = hold.waiting.filter((entry) => {
      const member = this.member(entry.userId);
      if (member?.present && member.buffering) return true;
      if (member) this.release(member, entry, now, false);
      return false;
    });
    let moved = hold.waiting.length !== before;
    for (const member of this.stragglers(now)) {
      hold.waiting.push(this.wait(member, hold, now));
      moved = true;
    }
    if (hold.waiting.length === 0) return this.resume(now, actorUserId);
    return moved ? this.changed(now, actorUserId, 'pause') : unchanged();
  }

  /** Null actor: the server ending an idle party. */
  end(actorUserId: string | null, now: number): RoomResult {
    if (actorUserId !== null && actorUserId !== this.state.hostUserId) {
      return fail(403, 'NOT_HOST', 'only the host can end the party');
    }
    this.state.seq++;
    const message: ServerMessage = {
      type: 'party-ended',
      ...this.stamp(now),
      reason: actorUserId === null ? 'idle' : 'host',
    };
    return { ok: true, changed: true, events: [{ to: 'all', message }] };
  }
}
