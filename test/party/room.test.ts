// The pure room: the anchored timeline under an injected clock, roles, capacity, and the queue.
import { describe, expect, it } from 'vitest';
import { clientMessageSchema, serverMessageSchema } from '../../src/party/protocol.js';
import { HOLD_RESET_MS, MAX_HOLD_MS, PartyRoom, type Clip, type RoomResult } from '../../src/party/room.js';

const T0 = 1_700_000_000_000;
let ids = 0;
const nextId = (): string => `p${++ids}`;

function clip(id: string, duration: number | null = null): Clip {
  return {
    id,
    title: id,
    source: { kind: 'url', url: `https://media.example/${id}.mp4`, mediaType: 'mp4' },
    mediaType: 'mp4',
    duration,
    thumbnailUrl: null,
    addedBy: 'host',
    addedAt: T0,
  };
}

function room(options: { max?: number; clips?: Clip[]; waitForEveryone?: boolean } = {}): PartyRoom {
  const r = PartyRoom.create({
    id: '00000000-0000-4000-8000-000000000001',
    inviteCode: 'ABC234',
    title: 'Movie night',
    visibility: 'private',
    maxParticipants: options.max ?? 100,
    ...(options.waitForEveryone === undefined ? {} : { waitForEveryone: options.waitForEveryone }),
    host: { id: 'host', name: 'Host', avatar: null, guest: false },
    hostParticipantId: nextId(),
    publicUrl: 'https://bot.example',
    now: T0,
  });
  for (const c of options.clips ?? [clip('a'), clip('b')]) r.appendClip(c, T0, 'host');
  return r;
}

function ok(result: ReturnType<PartyRoom['applyCommand']>) {
  if (!result.ok) throw new Error(`expected ok, got ${result.error.code}`);
  return result;
}

describe('PartyRoom timeline', () => {
  it('restores from a record brought up to date by a later timeline, never by an older or unfitting one', () => {
    const r = room();
    const stale = r.toRecord();
    ok(r.applyCommand('host', { type: 'seek', position: 42 }, T0 + 1000));
    ok(r.applyCommand('host', { type: 'play' }, T0 + 2000));
    const restored = PartyRoom.fromRecord(PartyRoom.withTimeline(stale, r.timelineRecord()), 'https://bot.example');
    expect(restored.playback(T0 + 5000)).toEqual(r.playback(T0 + 5000));
    // An older timeline, or one pointing past the record's queue, leaves the record as it is.
    expect(PartyRoom.withTimeline(r.toRecord(), { ...r.timelineRecord(), seq: 1 })).toEqual(r.toRecord());
    const past = { ...r.timelineRecord(), seq: r.seq + 1 };
    past.timeline.clipIndex = 5;
    expect(PartyRoom.withTimeline(r.toRecord(), past)).toEqual(r.toRecord());
  });

  it('runs the position on from the anchor while playing and holds it while paused', () => {
    const r = room();
    expect(r.position(T0 + 5000)).toBe(0);
    const play = ok(r.applyCommand('host', { type: 'play' }, T0 + 1000));
    expect(play.events[0]?.message).toMatchObject({
      type: 'play',
      position: 0,
      is_playing: true,
      anchor_server_time_ms: T0 + 1000,
    });
    expect(r.position(T0 + 4500)).toBeCloseTo(3.5);
    const pause = ok(r.applyCommand('host', { type: 'pause' }, T0 + 11_000));
    expect(pause.events[0]?.message).toMatchObject({ type: 'pause', position: 10, is_playing: false });
    expect(r.position(T0 + 60_000)).toBe(10);
    // Play again resumes from where it paused, not from where it first started.
    ok(r.applyCommand('host', { type: 'play' }, T0 + 20_000));
    expect(r.position(T0 + 22_000)).toBeCloseTo(12);
  });

  it('seeks while playing and keeps playing from the new position', () => {
    const r = room();
    ok(r.applyCommand('host', { type: 'play' }, T0));
    const seek = ok(r.applyCommand('host', { type: 'seek', position: 120 }, T0 + 3000));
    expect(seek.events[0]?.message).toMatchObject({ type: 'seek', position: 120, is_playing: true });
    expect(r.position(T0 + 5000)).toBeCloseTo(122);
  });

  it('skips to the next clip or a named one, at 0 and playing, and refuses past the end', () => {
    const r = room({ clips: [clip('a'), clip('b'), clip('c')] });
    ok(r.applyCommand('host', { type: 'seek', position: 50 }, T0));
    const skip = ok(r.applyCommand('host', { type: 'skip' }, T0 + 1000));
    expect(skip.events[0]?.message).toMatchObject({
      type: 'skip',
      clip_id: 'b',
      clip_index: 1,
      position: 0,
      is_playing: true,
    });
    ok(r.applyCommand('host', { type: 'skip', clip_id: 'c' }, T0 + 2000));
    expect(r.currentClip()?.id).toBe('c');
    const end = r.applyCommand('host', { type: 'skip' }, T0 + 3000);
    expect(end).toMatchObject({ ok: false, error: { code: 'END_OF_QUEUE' } });
    expect(r.applyCommand('host', { type: 'skip', clip_id: 'zzz' }, T0)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_CLIP' },
    });
  });

  it('gives a late joiner the position now, not the one at the last command', () => {
    const r = room();
    ok(r.applyCommand('host', { type: 'seek', position: 30 }, T0));
    ok(r.applyCommand('host', { type: 'play' }, T0 + 1000));
    expect(r.join({ id: 'late', name: 'Late', avatar: null, guest: false }, T0 + 61_000, nextId).ok).toBe(true);
    const state = r.stateMessage('late', T0 + 61_000);
    expect(state.party.current_position_seconds).toBeCloseTo(90);
    expect(state.party.playback).toMatchObject({
      anchor_position: 30,
      anchor_server_time_ms: T0 + 1000,
      is_playing: true,
    });
    const sync = ok(r.applyCommand('late', { type: 'sync-request' }, T0 + 71_000));
    expect(sync.events).toEqual([{ to: 'actor', message: expect.objectContaining({ type: 'sync', position: 100 }) }]);
    expect(sync.changed).toBe(false);
  });

  it('applies the playback rate from the moment it changes', () => {
    const r = room();
    ok(r.applyCommand('host', { type: 'play' }, T0));
    ok(r.applyCommand('host', { type: 'set-rate', playback_rate: 2 }, T0 + 10_000));
    expect(r.position(T0 + 15_000)).toBeCloseTo(20);
    expect(r.playback(T0 + 15_000).playback_rate).toBe(2);
  });

  it('clamps to the clip duration once known', () => {
    const r = room({ clips: [clip('a', 60)] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    expect(r.position(T0 + 90_000)).toBe(60);
    ok(r.applyCommand('host', { type: 'seek', position: 500 }, T0));
    expect(r.position(T0)).toBe(60);
    const unknown = room({ clips: [clip('x')] });
    ok(unknown.applyCommand('host', { type: 'play' }, T0));
    ok(unknown.applyCommand('host', { type: 'clip-duration', clip_id: 'x', duration: 10 }, T0 + 5000));
    expect(unknown.position(T0 + 30_000)).toBe(10);
  });

  it('bumps seq on every change so clients can drop stale messages', () => {
    const r = room();
    const before = r.seq;
    ok(r.applyCommand('host', { type: 'play' }, T0));
    ok(r.applyCommand('host', { type: 'pause' }, T0 + 1));
    expect(r.seq).toBe(before + 2);
  });
});

describe('PartyRoom roles and capacity', () => {
  it('refuses playback control from a viewer and changes nothing', () => {
    const r = room();
    r.join({ id: 'v', name: 'Viewer', avatar: null, guest: false }, T0, nextId);
    const before = r.toRecord();
    for (const command of [
      { type: 'play' },
      { type: 'pause' },
      { type: 'seek', position: 5 },
      { type: 'skip' },
    ] as const) {
      expect(r.applyCommand('v', command, T0 + 1000)).toMatchObject({
        ok: false,
        error: { code: 'NOT_ALLOWED', status: 403 },
      });
    }
    expect(r.toRecord()).toEqual(before);
    expect(r.applyCommand('stranger', { type: 'play' }, T0)).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
  });

  it('lets only the host promote, and a co-host then controls playback but cannot end', () => {
    const r = room();
    r.join({ id: 'v', name: 'Viewer', avatar: null, guest: false }, T0, nextId);
    r.join({ id: 'w', name: 'Other', avatar: null, guest: false }, T0, nextId);
    expect(r.setRole('w', 'v', 'co-host', T0)).toMatchObject({ ok: false, error: { code: 'NOT_HOST' } });
    const promoted = r.setRole('host', 'v', 'co-host', T0);
    expect(promoted).toMatchObject({
      ok: true,
      events: [{ message: { type: 'role-changed', participant: { user_id: 'v', role: 'co-host' } } }],
    });
    expect(r.applyCommand('v', { type: 'play' }, T0).ok).toBe(true);
    expect(r.end('v', T0)).toMatchObject({ ok: false, error: { code: 'NOT_HOST' } });
    expect(r.end('host', T0)).toMatchObject({
      ok: true,
      events: [{ message: { type: 'party-ended', reason: 'host' } }],
    });
  });

  it('counts the host as one seat and a user with several tabs once', () => {
    const r = room({ max: 3 });
    const join = (id: string) => r.join({ id, name: id, avatar: null, guest: false }, T0, nextId);
    expect(join('a')).toMatchObject({ ok: true, joined: true });
    expect(join('a')).toMatchObject({ ok: true, joined: false, events: [] });
    expect(join('b')).toMatchObject({ ok: true, joined: true });
    expect(join('c')).toMatchObject({ ok: false, error: { code: 'PARTY_FULL', status: 403 } });
    r.leave('host', T0);
    // The host's seat stays reserved, and the host can always come back.
    expect(join('c').ok).toBe(false);
    expect(join('host').ok).toBe(true);
    r.leave('a', T0);
    expect(join('c').ok).toBe(true);
  });

  it('round-trips through its durable record', () => {
    const r = room();
    ok(r.applyCommand('host', { type: 'play' }, T0));
    const copy = PartyRoom.fromRecord(JSON.parse(JSON.stringify(r.toRecord())), 'https://bot.example');
    expect(copy.position(T0 + 7000)).toBeCloseTo(7);
    expect(copy.inviteUrl).toBe('https://bot.example/watch-parties/ABC234');
  });
});

describe('PartyRoom wait for everyone', () => {
  /** A playing party at 10 s (T0 + 10 s) with a viewer Vera and a co-host Cole. */
  function playing(waitForEveryone: boolean): PartyRoom {
    const r = room({ waitForEveryone, clips: [clip('a', 600), clip('b', 600)] });
    r.join({ id: 'vera', name: 'Vera', avatar: null, guest: false }, T0, nextId);
    r.join({ id: 'cole', name: 'Cole', avatar: null, guest: false }, T0, nextId);
    r.setRole('host', 'cole', 'co-host', T0);
    ok(r.applyCommand('host', { type: 'play' }, T0));
    return r;
  }
  const AT = T0 + 10_000;

  /** Every message a room sends must be one a client can read. */
  function sent(result: RoomResult) {
    const done = ok(result);
    for (const event of done.events) expect(serverMessageSchema.parse(event.message)).toEqual(event.message);
    return done.events.map((event) => event.message as Record<string, any>);
  }
  const buffering = (r: PartyRoom, who: string, value: boolean, at: number) =>
    sent(r.applyCommand(who, { type: 'buffering', buffering: value }, at));

  it('without the setting, a report is accepted and changes nothing', () => {
    const r = playing(false);
    const before = r.toRecord();
    const result = r.applyCommand('vera', { type: 'buffering', buffering: true }, AT);
    expect(result).toEqual({ ok: true, changed: false, events: [] });
    expect(r.toRecord()).toEqual(before);
    expect(r.position(AT + 5000)).toBeCloseTo(15);
    expect(r.nextDeadline()).toBeNull();
    expect(r.detail(AT).wait_for_everyone).toBe(false);
  });

  it("holds the room where it is on a viewer's stall, says for whom, and plays on from there when ready", () => {
    const r = playing(true);
    expect(r.detail(AT).wait_for_everyone).toBe(true);
    const [hold] = buffering(r, 'vera', true, AT);
    expect(hold).toMatchObject({
      type: 'pause',
      is_playing: false,
      hold: true,
      position: 10,
      waiting_for: [{ user_id: 'vera', display_name: 'Vera' }],
      actor_user_id: 'vera',
    });
    // Held: the timeline stands still, and late joiners see why.
    expect(r.position(AT + 3000)).toBe(10);
    expect(r.detail(AT + 3000)).toMatchObject({ is_playing: false, playback: { hold: true } });
    expect(r.nextDeadline()).toBe(AT + MAX_HOLD_MS);
    // The same report again changes nothing.
    expect(r.applyCommand('vera', { type: 'buffering', buffering: true }, AT + 100)).toMatchObject({
      changed: false,
      events: [],
    });

    const [play] = buffering(r, 'vera', false, AT + 3000);
    expect(play).toMatchObject({
      type: 'play',
      is_playing: true,
      hold: false,
      waiting_for: [],
      position: 10,
      anchor_server_time_ms: AT + 3000,
    });
    expect(r.position(AT + 5000)).toBeCloseTo(12);
    expect(r.nextDeadline()).toBeNull();
  });

  it("holds for the host's own stall too, and waits until the last one is ready", () => {
    const r = playing(true);
    buffering(r, 'host', true, AT);
    const [wider] = buffering(r, 'vera', true, AT + 500);
    expect(wider).toMatchObject({ type: 'pause', hold: true });
    expect(wider!.waiting_for.map((w: { display_name: string }) => w.display_name)).toEqual(['Host', 'Vera']);
    const [narrower] = buffering(r, 'host', false, AT + 1000);
    expect(narrower).toMatchObject({ type: 'pause', hold: true, waiting_for: [{ user_id: 'vera' }] });
    expect(r.position(AT + 1500)).toBe(10);
    expect(buffering(r, 'vera', false, AT + 2000)).toMatchObject([{ type: 'play', is_playing: true }]);
  });

  it('does not hold a paused room, and a stall reported while paused holds when the host presses play', () => {
    const r = playing(true);
    ok(r.applyCommand('host', { type: 'pause' }, AT));
    expect(buffering(r, 'vera', true, AT + 100)).toEqual([]);
    expect(r.nextDeadline()).toBeNull();
    const [answer] = sent(r.applyCommand('host', { type: 'play' }, AT + 1000));
    expect(answer).toMatchObject({ type: 'pause', is_playing: false, hold: true, actor_user_id: 'host' });
    expect(buffering(r, 'vera', false, AT + 2000)).toMatchObject([{ type: 'play', position: 10 }]);
  });

  it('at the cap, tick plays on without the straggler, who cannot hold again by flapping', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    const cap = r.nextDeadline()!;
    expect(cap).toBe(AT + MAX_HOLD_MS);
    // Nothing is due before the cap.
    expect(r.tick(cap - 1)).toEqual({ ok: true, changed: false, events: [] });
    const resumed = r.tick(cap);
    expect(resumed).toMatchObject({ changed: true });
    expect(sent(resumed)).toMatchObject([
      { type: 'play', is_playing: true, hold: false, position: 10, actor_user_id: null },
    ]);
    expect(r.nextDeadline()).toBeNull();
    expect(r.position(cap + 4000)).toBeCloseTo(14);

    // Vera's player flaps: ready, stalled, ready, stalled. The room plays on every time.
    for (let i = 1; i <= 4; i++) {
      expect(buffering(r, 'vera', i % 2 === 0, cap + i * 1000)).toEqual([]);
    }
    expect(r.playback(cap + 5000)).toMatchObject({ is_playing: true, hold: false });
    expect(r.nextDeadline()).toBeNull();

    // Someone else still gets waited for meanwhile.
    expect(buffering(r, 'cole', true, cap + 6000)).toMatchObject([
      { type: 'pause', hold: true, waiting_for: [{ user_id: 'cole' }] },
    ]);
    buffering(r, 'cole', false, cap + 7000);

    // A minute without holding the room, and Vera's budget is whole again.
    buffering(r, 'vera', false, cap + 8000);
    expect(buffering(r, 'vera', true, cap + HOLD_RESET_MS)).toMatchObject([{ type: 'pause', hold: true }]);
    expect(r.nextDeadline()).toBe(cap + HOLD_RESET_MS + MAX_HOLD_MS);
  });

  it('lets go of everyone at the cap of a hold, also those who joined it late', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    expect(buffering(r, 'cole', true, AT + 5000)).toMatchObject([{ type: 'pause', hold: true }]);
    // One hold never outlasts its cap, however many join it.
    expect(r.nextDeadline()).toBe(AT + MAX_HOLD_MS);
    expect(sent(r.tick(AT + MAX_HOLD_MS))).toMatchObject([{ type: 'play', is_playing: true }]);
    // Cole held it only 3 s, but a straggler let go at a cap does not stop the room again at once.
    buffering(r, 'cole', false, AT + 8500);
    expect(buffering(r, 'cole', true, AT + 9000)).toEqual([]);
  });

  it('counts short holds against one budget: after 3 s + 3 s, the next stall holds the room 2 s', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    buffering(r, 'vera', false, AT + 3000);
    buffering(r, 'vera', true, AT + 5000);
    buffering(r, 'vera', false, AT + 8000);
    expect(buffering(r, 'vera', true, AT + 10_000)).toMatchObject([{ type: 'pause', hold: true }]);
    expect(r.nextDeadline()).toBe(AT + 12_000);
    expect(sent(r.tick(AT + 12_000))).toMatchObject([{ type: 'play', is_playing: true }]);
    buffering(r, 'vera', false, AT + 13_000);
    expect(buffering(r, 'vera', true, AT + 14_000)).toEqual([]);
    expect(r.playback(AT + 14_000).is_playing).toBe(true);

    // Less than a second left is not worth a stop: it would only stutter.
    const s = playing(true);
    buffering(s, 'vera', true, AT);
    buffering(s, 'vera', false, AT + 7500);
    expect(buffering(s, 'vera', true, AT + 8000)).toEqual([]);
  });

  it('ends the hold for good on a host pause; play while someone buffers keeps waiting; seek waits at the new spot', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    // Play from a host changes nothing while Vera buffers (the host is told where the room is).
    const play = sent(r.applyCommand('host', { type: 'play' }, AT + 1000));
    expect(play).toMatchObject([{ type: 'sync', is_playing: false, hold: true }]);
    expect(r.position(AT + 2000)).toBe(10);
    // A seek moves where the room waits, and the cap stays where it was.
    const [seek] = sent(r.applyCommand('cole', { type: 'seek', position: 42 }, AT + 2000));
    expect(seek).toMatchObject({ type: 'seek', position: 42, is_playing: false, hold: true });
    expect(r.nextDeadline()).toBe(AT + MAX_HOLD_MS);

    const [pause] = sent(r.applyCommand('host', { type: 'pause' }, AT + 3000));
    expect(pause).toMatchObject({ type: 'pause', is_playing: false, hold: false, waiting_for: [], position: 42 });
    expect(r.nextDeadline()).toBeNull();
    // Vera getting ready later does not start the room: the host paused it.
    expect(buffering(r, 'vera', false, AT + 4000)).toEqual([]);
    expect(r.playback(AT + 9000)).toMatchObject({ is_playing: false, position: 42 });
  });

  it('skip during a hold starts the next clip and waits for whoever is still buffering', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    const [skip] = sent(r.applyCommand('host', { type: 'skip' }, AT + 2000));
    expect(skip).toMatchObject({ type: 'skip', clip_id: 'b', position: 0, is_playing: false, hold: true });
    expect(buffering(r, 'vera', false, AT + 3000)).toMatchObject([{ type: 'play', clip_id: 'b', position: 0 }]);
  });

  it('lets the room play on when the member it waits for leaves', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    buffering(r, 'cole', true, AT);
    expect(sent(r.leave('cole', AT + 1000))).toMatchObject([
      { type: 'participant-left' },
      { type: 'pause', hold: true, waiting_for: [{ user_id: 'vera' }] },
    ]);
    const left = sent(r.leave('vera', AT + 2000));
    expect(left).toMatchObject([{ type: 'participant-left' }, { type: 'play', is_playing: true, position: 10 }]);
    expect(r.nextDeadline()).toBeNull();
    // Back again, Vera starts with a clean slate: nothing she said before she left holds the room.
    r.join({ id: 'vera', name: 'Vera', avatar: null, guest: false }, AT + 3000, nextId);
    ok(r.applyCommand('host', { type: 'seek', position: 5 }, AT + 3000));
    expect(r.playback(AT + 4000)).toMatchObject({ is_playing: true, hold: false });
  });

  it('gives a viewer no other way to stop or move playback, setting or not', () => {
    const r = playing(true);
    const before = r.toRecord();
    for (const command of [{ type: 'pause' }, { type: 'seek', position: 1 }, { type: 'skip' }] as const) {
      expect(r.applyCommand('vera', command, AT)).toMatchObject({ ok: false, error: { code: 'NOT_ALLOWED' } });
    }
    expect(r.toRecord()).toEqual(before);
    // A buffering viewer cannot end a hold early by any control either.
    buffering(r, 'vera', true, AT);
    expect(r.applyCommand('vera', { type: 'play' }, AT + 10)).toMatchObject({ ok: false });
    expect(r.playback(AT + 20)).toMatchObject({ is_playing: false, hold: true });
  });

  it('keeps a hold across a restart, and its cap still ends it', () => {
    const r = playing(true);
    buffering(r, 'vera', true, AT);
    const copy = PartyRoom.fromRecord(JSON.parse(JSON.stringify(r.toRecord())), 'https://bot.example');
    expect(copy.playback(AT + 1000)).toMatchObject({ is_playing: false, hold: true, position: 10 });
    expect(copy.nextDeadline()).toBe(AT + MAX_HOLD_MS);
    expect(sent(copy.tick(AT + MAX_HOLD_MS + 500))).toMatchObject([{ type: 'play', is_playing: true, position: 10 }]);
  });
});

describe('PartyRoom live clips', () => {
  // A live playlist read at T0: 6 segments of 2 s, PDT clock. The epoch is the window's start then,
  // so the window is positions 0…12 at T0 and slides on at 1 s/s.
  const EPOCH = 1_790_000_000;
  function liveClip(id = 'live'): Clip {
    return {
      ...clip(id),
      source: { kind: 'parti-live', userId: 567503 },
      mediaType: 'hls',
      live: { clock: 'pdt', epoch: EPOCH, targetDuration: 2, window: { start: 0, end: 12, at: T0 } },
    };
  }
  function sent(result: RoomResult) {
    const done = ok(result);
    for (const event of done.events) expect(serverMessageSchema.parse(event.message)).toEqual(event.message);
    return done.events.map((event) => event.message as Record<string, any>);
  }

  it("starts at the live point (3 segments behind the edge) on the host's first play, whenever it comes", () => {
    const r = room({ clips: [liveClip()] });
    expect(r.playback(T0)).toMatchObject({
      position: 6,
      is_playing: false,
      live: { start: 1, live_point: 6, edge: 12 },
    });
    // Thirty seconds later the window has slid on; the first play still starts at the live point.
    const [play] = sent(r.applyCommand('host', { type: 'play' }, T0 + 30_000));
    expect(play).toMatchObject({ type: 'play', position: 36, live: { start: 31, live_point: 36, edge: 42 } });
    expect(r.position(T0 + 40_000)).toBeCloseTo(46);
    expect(r.detail(T0).queue[0]!.live).toEqual({ clock: 'pdt', epoch: EPOCH, target_duration: 2 });
  });

  it('resumes from a pause the window still holds; past it, jumps back to live by itself and says why', () => {
    const r = room({ clips: [liveClip()] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    sent(r.applyCommand('host', { type: 'pause' }, T0 + 1000)); // paused at 7; the floor (start + 1 s) is at 2
    expect(r.nextDeadline()).toBe(T0 + 6000); // the floor reaches 7 five seconds later
    expect(sent(r.applyCommand('host', { type: 'play' }, T0 + 3000))[0]).toMatchObject({ position: 7 });
    sent(r.applyCommand('host', { type: 'pause' }, T0 + 4000)); // at 8
    expect(r.tick(T0 + 6000)).toEqual({ ok: true, changed: false, events: [] });
    const deadline = r.nextDeadline()!;
    expect(deadline).toBe(T0 + 7000);
    const [back] = sent(r.tick(deadline));
    expect(back).toMatchObject({
      type: 'play',
      is_playing: true,
      position: 13,
      actor_user_id: null,
      reason: 'live-window',
    });
    expect(r.nextDeadline()).toBeNull();
  });

  it('a play after the window left a pause behind goes live even before the timer ran', () => {
    const r = room({ clips: [liveClip()] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    ok(r.applyCommand('host', { type: 'pause' }, T0));
    expect(sent(r.applyCommand('host', { type: 'play' }, T0 + 20_000))[0]).toMatchObject({ position: 26 });
  });

  it('seeks within the window, and go-live returns to the live point', () => {
    const r = room({ clips: [liveClip()] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    expect(sent(r.applyCommand('host', { type: 'seek', position: 3 }, T0))[0]).toMatchObject({ position: 3 });
    expect(sent(r.applyCommand('host', { type: 'seek', position: 0 }, T0))[0]).toMatchObject({ position: 1 });
    expect(sent(r.applyCommand('host', { type: 'seek', position: 11 }, T0))[0]).toMatchObject({ position: 6 });
    ok(r.applyCommand('host', { type: 'pause', position: 2 }, T0));
    const [live] = sent(r.applyCommand('host', { type: 'go-live' }, T0 + 500));
    expect(live).toMatchObject({ type: 'play', position: 6.5, is_playing: true });
  });

  it('has no length: a duration a player reports does not clamp it', () => {
    const r = room({ clips: [liveClip()] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    expect(ok(r.applyCommand('host', { type: 'clip-duration', clip_id: 'live', duration: 7 }, T0)).changed).toBe(false);
    expect(r.position(T0 + 10_000)).toBeCloseTo(16);
  });

  it('refuses go-live on a recording, a rate change on a live stream, and both from a viewer', () => {
    const vod = room();
    expect(vod.applyCommand('host', { type: 'go-live' }, T0)).toMatchObject({ ok: false, error: { code: 'NOT_LIVE' } });
    const r = room({ clips: [liveClip()] });
    r.join({ id: 'vera', name: 'Vera', avatar: null, guest: false }, T0, nextId);
    expect(r.applyCommand('host', { type: 'set-rate', playback_rate: 1.5 }, T0)).toMatchObject({
      ok: false,
      error: { code: 'LIVE_RATE' },
    });
    expect(r.applyCommand('vera', { type: 'go-live' }, T0)).toMatchObject({
      ok: false,
      error: { code: 'NOT_ALLOWED' },
    });
  });

  it('a live clip waiting for its first play follows the live point, and never starts by itself', () => {
    const r = room({ clips: [liveClip()] });
    expect(r.nextDeadline()).toBe(T0 + 5000);
    const [sync] = sent(r.tick(T0 + 5000));
    expect(sync).toMatchObject({ type: 'sync', is_playing: false, position: 11, reason: null });
  });

  it('keeps its window through reads a segment behind the slide, and moves it when the stream jumped', () => {
    const r = room({ clips: [liveClip()] });
    ok(r.applyCommand('host', { type: 'play' }, T0));
    // Read 10 s later, where the slide put it, or a segment behind (the next one not listed yet).
    const unchanged = { ok: true, changed: false, events: [] };
    expect(r.updateLiveWindow('live', { start: EPOCH + 10, end: EPOCH + 22 }, T0 + 10_000)).toEqual(unchanged);
    expect(r.updateLiveWindow('live', { start: EPOCH + 8, end: EPOCH + 20 }, T0 + 10_000)).toEqual(unchanged);
    expect(r.playback(T0 + 10_000).live).toEqual({ start: 11, live_point: 16, edge: 22 });
    // The stream stalled for 5 s: the edge is behind the slide by more than a segment.
    const [sync] = sent(r.updateLiveWindow('live', { start: EPOCH + 15, end: EPOCH + 27 }, T0 + 20_000));
    expect(sync).toMatchObject({ type: 'sync', live: { edge: 27, live_point: 21 } });
  });

  it('skips to a live clip at its live point, playing', () => {
    const r = room({ clips: [clip('a', 600), liveClip()] });
    const [skip] = sent(r.applyCommand('host', { type: 'skip' }, T0 + 4000));
    expect(skip).toMatchObject({ type: 'skip', is_playing: true, position: 10, live: { live_point: 10 } });
  });
});

describe('PartyRoom reactions', () => {
  it("sends any present member's reaction to everyone, keeps nothing of it, and budgets it per person", () => {
    const r = room();
    r.join({ id: 'vera', name: 'Vera', avatar: null, guest: true }, T0, nextId);
    const before = r.toRecord();
    const result = ok(r.applyCommand('vera', { type: 'reaction', emoji: '🔥' }, T0));
    expect(result.changed).toBe(false);
    expect(result.events).toEqual([
      {
        to: 'all',
        message: { type: 'reaction', party_id: before.id, user_id: 'vera', emoji: '🔥', server_time_ms: T0 },
      },
    ]);
    expect(serverMessageSchema.parse(result.events[0]!.message)).toEqual(result.events[0]!.message);
    expect(r.toRecord()).toEqual(before);
    // Four more in the same instant are in the budget of five; the sixth is refused.
    for (let i = 0; i < 4; i++) ok(r.applyCommand('vera', { type: 'reaction', emoji: '👍' }, T0));
    expect(r.applyCommand('vera', { type: 'reaction', emoji: '👍' }, T0)).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', status: 429 },
    });
    // The host's budget is their own, and Vera's comes back at one a second.
    ok(r.applyCommand('host', { type: 'reaction', emoji: '🎉' }, T0));
    ok(r.applyCommand('vera', { type: 'reaction', emoji: '👍' }, T0 + 1000));
    expect(r.applyCommand('vera', { type: 'reaction', emoji: '👍' }, T0 + 1000).ok).toBe(false);
  });

  it('refuses someone who left, and anything outside the fixed set never reaches the room', () => {
    const r = room();
    r.join({ id: 'vera', name: 'Vera', avatar: null, guest: false }, T0, nextId);
    r.leave('vera', T0);
    expect(r.applyCommand('vera', { type: 'reaction', emoji: '👍' }, T0)).toMatchObject({
      ok: false,
      error: { code: 'NOT_PARTICIPANT' },
    });
    expect(clientMessageSchema.safeParse({ type: 'reaction', emoji: '<img src=x>' }).success).toBe(false);
    expect(clientMessageSchema.safeParse({ type: 'reaction', emoji: '👍', text: 'hi' }).success).toBe(false);
  });
});

describe('PartyRoom: what the writer is told changed', () => {
  const snapshot = (r: PartyRoom) => ({
    core: JSON.stringify(r.coreRecord()),
    members: JSON.stringify(r.memberRecords()),
  });

  it('flags the core or the members whenever they change, and nothing else moves them', () => {
    // A scripted evening: after each step, whatever part of the record changed must have been flagged
    // (what is not flagged is not written, and a restart would not have it).
    const r = room({ waitForEveryone: true });
    r.takeChanges();
    let t = T0;
    const steps: Array<[string, () => unknown]> = [
      ['join', () => r.join({ id: 'v1', name: 'V1', avatar: null, guest: false }, (t += 10), nextId)],
      [
        'join again',
        () => r.join({ id: 'v2', name: 'V2', avatar: null, guest: true, addressKey: 'k2' }, (t += 10), nextId),
      ],
      ['promote', () => r.setRole('host', 'v1', 'co-host', (t += 10))],
      ['play', () => r.applyCommand('host', { type: 'play' }, (t += 10))],
      ['seek', () => r.applyCommand('v1', { type: 'seek', position: 30 }, (t += 10))],
      ['duration', () => r.applyCommand('host', { type: 'clip-duration', clip_id: 'a', duration: 90 }, (t += 10))],
      ['buffering', () => r.applyCommand('v2', { type: 'buffering', buffering: true }, (t += 10))],
      ['ready', () => r.applyCommand('v2', { type: 'buffering', buffering: false }, (t += 10))],
      ['add clip', () => r.addClip('v1', clip('c'), (t += 10))],
      ['skip', () => r.applyCommand('host', { type: 'skip' }, (t += 10))],
      ['co-host leaves', () => r.leave('v1', (t += 10))],
      ['revoke', () => r.revoke('v1', (t += 10))],
      ['co-host back', () => r.join({ id: 'v1', name: 'V1', avatar: null, guest: false }, (t += 10), nextId)],
      ['remove', () => r.remove('host', 'v2', (t += 10))],
      ['viewer leaves', () => r.leave('v1', (t += 10))],
    ];
    for (const [name, step] of steps) {
      const before = snapshot(r);
      step();
      const after = snapshot(r);
      const flagged = r.takeChanges();
      if (after.core !== before.core) {
        // The core carries the timeline too; a timeline-only change is the timeline key's to write.
        const strip = (json: string) => {
          const record = JSON.parse(json) as Record<string, unknown>;
          for (const key of ['seq', 'timeline', 'hold']) delete record[key];
          return JSON.stringify(record);
        };
        if (strip(after.core) !== strip(before.core)) expect(flagged.core, name).toBe(true);
      }
      if (after.members !== before.members) {
        // Buffering flags and hold budgets are only ever for the running room.
        const strip = (json: string) =>
          JSON.stringify(
            (JSON.parse(json) as Array<Record<string, unknown>>).map((member) => {
              for (const key of ['buffering', 'heldMs', 'heldAt']) delete member[key];
              return member;
            }),
          );
        if (strip(after.members) !== strip(before.members)) expect(flagged.members, name).toBe(true);
      }
    }
  });
});

describe('PartyRoom: removal, leaving and budgets', () => {
  const guest = (id: string, addressKey?: string) => ({
    id,
    name: id,
    avatar: null,
    guest: true,
    ...(addressKey && { addressKey }),
  });

  it('forgets a viewer who leaves and keeps a co-host away, up to a cap', () => {
    const r = room({ max: 500 });
    r.join(guest('viewer'), T0, nextId);
    r.leave('viewer', T0 + 1);
    expect(r.member('viewer')).toBeUndefined();
    for (let i = 0; i < 60; i++) {
      r.join(guest(`co${i}`), T0 + 10 + i, nextId);
      r.setRole('host', `co${i}`, 'co-host', T0 + 10 + i);
      r.leave(`co${i}`, T0 + 100 + i);
    }
    const away = r.memberRecords().filter((m) => !m.present);
    expect(away).toHaveLength(50);
    expect(r.member('co59')?.role).toBe('co-host');
    expect(r.member('co0')).toBeUndefined();
  });

  it('keeps a removed account, and a removed guest’s address, out; bounded', () => {
    const r = room();
    r.join(guest('troll', 'addr-1'), T0, nextId);
    expect(r.remove('host', 'troll', T0 + 1).ok).toBe(true);
    expect(r.join(guest('troll'), T0 + 2, nextId)).toMatchObject({ ok: false, error: { code: 'REMOVED' } });
    expect(r.join(guest('troll-again', 'addr-1'), T0 + 3, nextId)).toMatchObject({
      ok: false,
      error: { code: 'REMOVED' },
    });
    expect(r.join(guest('neighbour', 'addr-2'), T0 + 4, nextId).ok).toBe(true);
    for (let i = 0; i < 600; i++) {
      r.join(guest(`g${i}`), T0 + 10 + i, nextId);
      r.remove('host', `g${i}`, T0 + 10 + i);
    }
    expect(r.coreRecord().removed).toHaveLength(500);
  });

  it('admits to a private party who is present, or holds its token and has not left since', () => {
    const r = room();
    const id = r.id;
    r.join({ id: 'm', name: 'M', avatar: null, guest: false }, T0, nextId);
    expect(r.admits({ userId: 'm', tokenPartyId: null, issuedAt: T0 })).toBe(true);
    expect(r.admits({ userId: 'stranger', tokenPartyId: null, issuedAt: T0 })).toBe(false);
    expect(r.admits({ userId: 'invited', tokenPartyId: id, issuedAt: T0 })).toBe(true);
    r.revoke('m', T0 + 1000);
    r.leave('m', T0 + 1000);
    expect(r.admits({ userId: 'm', tokenPartyId: id, issuedAt: T0 })).toBe(false);
    expect(r.admits({ userId: 'm', tokenPartyId: id, issuedAt: T0 + 2000 })).toBe(true);
    r.join({ id: 'm', name: 'M', avatar: null, guest: false }, T0 + 3000, nextId);
    expect(r.coreRecord().revoked ?? []).toEqual([]);
  });

  it('takes playback commands from one budget per person: a burst, then a refill', () => {
    const r = PartyRoom.fromRecord(room().toRecord(), 'https://bot.example', { perSecond: 2, burst: 3 });
    const seek = (at: number) => r.applyCommand('host', { type: 'seek', position: 1 }, at);
    expect([seek(T0), seek(T0), seek(T0), seek(T0)].map((result) => result.ok)).toEqual([true, true, true, false]);
    expect(seek(T0 + 499).ok).toBe(false);
    expect(seek(T0 + 500).ok).toBe(true);
    expect(r.mayAddClip('host', T0 + 500)).toMatchObject({ code: 'RATE_LIMITED' });
    // sync-request and reactions are not playback commands.
    expect(r.applyCommand('host', { type: 'sync-request' }, T0 + 500).ok).toBe(true);
  });
});
