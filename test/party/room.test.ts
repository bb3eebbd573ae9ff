// The pure room: the anchored timeline under an injected clock, roles, capacity, and the queue.
import { describe, expect, it } from 'vitest';
import { PartyRoom, type Clip } from '../../src/party/room.js';

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

function room(options: { max?: number; clips?: Clip[] } = {}): PartyRoom {
  const r = PartyRoom.create({
    id: '00000000-0000-4000-8000-000000000001',
    inviteCode: 'ABC234',
    title: 'Movie night',
    visibility: 'private',
    maxParticipants: options.max ?? 100,
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
