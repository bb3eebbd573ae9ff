// Two party servers sharing one real Redis (the redis project starts a throwaway redis-server), as
// two processes behind a load balancer would: a viewer on one and the host on the other see each
// other's events, the capacity and the join limits hold across both, and when the owning server
// shuts down the other carries the party on from the store.
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FRAME } from '../../src/party/owner.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { startRedisServer } from '../support/redisServer.js';
import { api, connect, expectContinuedTimeline, sleep, startStack, tokenFor, type Stack } from './harness.js';

const redisUrl = process.env.TEST_REDIS_URL;

describe.runIf(redisUrl)('watch parties across two servers on one Redis', () => {
  let fake: FakeParti;
  let stacks: Stack[] = [];

  beforeAll(async () => {
    fake = await startFakeParti();
  });
  afterAll(async () => {
    await fake.close();
  });
  afterEach(async () => {
    await Promise.all(stacks.map((stack) => stack.close()));
    stacks = [];
  });

  /** Two servers on a fresh key prefix, like two processes with the same STORE_URL. */
  async function pair(
    options: Parameters<typeof startStack>[1] = {},
    redis: string = redisUrl!,
  ): Promise<[Stack, Stack]> {
    const storeUrl = `${redis}?prefix=cluster-${randomUUID().slice(0, 8)}`;
    const settings = { storeUrl, cluster: true, ownerLeaseMs: 1_500, graceMs: 1_000, ...options };
    // Started at once, as a compose file starts them: they must still agree on the token secret.
    const [a, b] = await Promise.all([startStack(fake, settings), startStack(fake, settings)]);
    stacks.push(a, b);
    return [a, b];
  }

  async function createOn(stack: Stack, body: Record<string, unknown> = {}) {
    const hostToken = await tokenFor(stack, 'host-1', 'Hostess');
    const created = await api(stack, 'POST', '', { token: hostToken, body: { title: 'Movie night', ...body } });
    expect(created.status).toBe(201);
    return created.body.data as { id: string; invite_code: string; token: string };
  }

  async function joinOn(stack: Stack, code: string, userId: string) {
    return api(stack, 'POST', `/${code}/join`, { token: await tokenFor(stack, userId, `User ${userId}`) });
  }

  it('relays the host on one server to a viewer on the other, and joins and leaves to both', async () => {
    const [a, b] = await pair();
    const party = await createOn(b, { source: 'video:80892' });
    const joined = await joinOn(a, party.invite_code, 'viewer-1');
    expect(joined.status).toBe(200);
    expect(joined.body.data.party.participant_count).toBe(2);

    // A token from one server is good on the other (the secret was made once, in Redis).
    await expect(b.service.verifyToken(joined.body.data.token)).resolves.toMatchObject({ user: { id: 'viewer-1' } });
    const viewer = await connect(a, party.id, joined.body.data.token);
    const host = await connect(b, party.id, party.token);
    expect(viewer.of('state')[0]?.you).toEqual({ user_id: 'viewer-1', role: 'viewer' });

    host.send({ type: 'play', position: 12 });
    const play = await viewer.next('play');
    expect(play).toMatchObject({ actor_user_id: 'host-1', is_playing: true, anchor_position: 12 });
    // Both got the very same event: one timeline, owned by one server.
    expect((await host.next('play')).seq).toBe(play.seq);

    // A viewer on A cannot move it either: the owner on B refuses, and nothing is broadcast.
    viewer.send({ type: 'pause' });
    expect(await viewer.next('error')).toMatchObject({ code: 'NOT_ALLOWED', request_type: 'pause' });

    // Someone joining on B is seen on A; someone leaving on A is seen on B.
    const second = await joinOn(b, party.invite_code, 'viewer-2');
    const secondSocket = await connect(b, party.id, second.body.data.token);
    expect((await viewer.next('participant-joined')).participant.user_id).toBe('viewer-2');
    expect(await api(a, 'DELETE', `/${party.id}/leave`, { token: joined.body.data.token })).toMatchObject({
      status: 200,
    });
    expect((await host.next('participant-left')).participant.user_id).toBe('viewer-1');
    expect(await viewer.closed).toBe(1000);
    expect((await secondSocket.next('participant-left')).participant_count).toBe(2);

    // A socket closing on A without leaving: gone after the grace period, as on one server.
    const third = await joinOn(a, party.invite_code, 'viewer-3');
    const thirdSocket = await connect(a, party.id, third.body.data.token);
    await host.next('participant-joined', (m) => m.participant.user_id === 'viewer-3');
    thirdSocket.close();
    expect((await host.next('participant-left', () => true, 5_000)).participant.user_id).toBe('viewer-3');

    // Reads work from either server.
    const fromA = await a.service.getParty(party.id);
    expect(fromA?.participants.map((p) => p.user_id).sort()).toEqual(['host-1', 'viewer-2']);
    expect(await a.service.findByCode(party.invite_code)).toMatchObject({ id: party.id, title: 'Movie night' });
    host.close();
    secondSocket.close();
  });

  it('holds the capacity when people join on both servers at once', async () => {
    const [a, b] = await pair();
    const party = await createOn(a, { max_participants: 5 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => joinOn(i % 2 === 0 ? a : b, party.invite_code, `crowd-${i}`)),
    );
    const statuses = answers.map((answer) => answer.status);
    // The host holds one of the five seats.
    expect(statuses.filter((status) => status === 200)).toHaveLength(4);
    expect(statuses.filter((status) => status === 403)).toHaveLength(8);
    expect(answers.find((answer) => answer.status === 403)?.body.error.code).toBe('PARTY_FULL');
    expect((await b.service.getParty(party.id))?.participant_count).toBe(5);
  });

  it('counts the join limit across both servers', async () => {
    const [a, b] = await pair({ limits: { joinsPerHour: 3 } });
    const party = await createOn(a, { visibility: 'public' });
    const statuses: number[] = [];
    for (const stack of [a, b, a, b]) statuses.push((await joinOn(stack, party.invite_code, 'eager')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('carries the party on from the other server when its owner shuts down, without a jump', async () => {
    const [a, b] = await pair();
    const party = await createOn(b, { source: 'video:80892' });
    const joined = await joinOn(a, party.invite_code, 'viewer-1');
    const viewer = await connect(a, party.id, joined.body.data.token);
    const host = await connect(b, party.id, party.token);
    host.send({ type: 'play', position: 30 });
    const play = await viewer.next('play');

    await b.close();
    stacks = [a];
    expect(await host.closed).toBe(1001);
    await sleep(300);
    // The viewer's socket on A never dropped, and A owns the party now.
    expect(viewer.closeCode).toBeNull();
    expect(a.logs.some((line) => line.includes('watch party taken over'))).toBe(true);

    // The host comes back through A: the timeline went on exactly where it was.
    const back = await connect(a, party.id, await tokenFor(a, 'host-1', 'Hostess', party.id));
    const state = back.of('state')[0]!;
    expect(state.party.playback).toMatchObject({
      is_playing: true,
      anchor_position: play.anchor_position,
      anchor_server_time_ms: play.anchor_server_time_ms,
      seq: play.seq,
    });
    back.send({ type: 'pause' });
    expectContinuedTimeline(play, await viewer.next('pause'));
    back.close();
    viewer.close();
  });

  it('applies a request retried after a timeout once, and answers the retry with the same result', async () => {
    // A Redis of its own: this test holds every write (PUBLISH included) for a moment.
    const redis = await startRedisServer();
    onTestFinished(redis.stop);
    const [a, b] = await pair({}, redis.url);
    const party = await createOn(a);
    const url = 'http://127.0.0.1:9/extra.mp4';
    const clip = (id: string) => ({
      id,
      title: 'Extra',
      source: { kind: 'url', url, mediaType: 'mp4' },
      mediaType: 'mp4',
      duration: null,
      thumbnailUrl: null,
      addedBy: 'host-1',
      addedAt: Date.now(),
    });
    const addClip = (clipId: string, timeoutMs: number, requestId?: string) =>
      b.cluster!.request(
        a.cluster!.instanceId,
        { op: 'addClip', partyId: party.id, args: ['host-1', clip(clipId)] },
        timeoutMs,
        requestId,
      );
    const admin = createClient({ url: redis.url });
    await admin.connect();
    onTestFinished(() => admin.quit().then(() => undefined));

    // Redis holds B's request to the owner past B's timeout, as a stalled Redis or owner would; B asks
    // again with the same request id (as the service's retry does), and A receives it twice.
    await admin.sendCommand(['CLIENT', 'PAUSE', '500', 'WRITE']);
    await expect(addClip('clip-1', 100, 'request-1')).rejects.toMatchObject({ kind: 'timeout' });
    const retried = (await addClip('clip-1-again', 3_000, 'request-1')) as { clip: { id: string } };
    expect(retried.clip.id).toBe('clip-1');
    // A new request is a new change.
    await addClip('clip-2', 3_000);
    expect((await a.service.getParty(party.id))?.queue.map((c) => c.id)).toEqual(['clip-1', 'clip-2']);
  });

  it('catches a socket up when its server lost the Redis subscription for a moment', async () => {
    // A Redis of its own: this test refuses new connections for a moment.
    const redis = await startRedisServer();
    onTestFinished(redis.stop);
    const [a, b] = await pair({}, redis.url);
    const party = await createOn(b, { source: 'video:80892' });
    const joined = await joinOn(a, party.invite_code, 'viewer-1');
    const viewer = await connect(a, party.id, joined.body.data.token);
    const host = await connect(b, party.id, party.token);
    host.send({ type: 'play', position: 5 });
    await viewer.next('play');

    // Two connections of the test's own, made while Redis still takes new ones: one to run
    // commands, one to watch the party's channel once the servers' subscriptions are gone.
    const channel = `${new URL(a.storeUrl).searchParams.get('prefix')}:party-channel:${party.id}`;
    const admin = createClient({ url: redis.url });
    const witness = admin.duplicate();
    await Promise.all([admin.connect(), witness.connect()]);
    onTestFinished(async () => {
      await Promise.allSettled([admin.quit(), witness.quit()]);
    });
    // Drop every subscribing connection and keep them out (no new clients) while the host pauses.
    const [, maxClients] = await admin.sendCommand<[string, string]>(['CONFIG', 'GET', 'maxclients']);
    await admin.sendCommand(['CONFIG', 'SET', 'maxclients', '1']);
    await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    const published: string[] = [];
    await witness.subscribe(channel, (message) => published.push(message));
    // Only the witness follows the party now: neither server does.
    expect(await admin.sendCommand(['PUBSUB', 'NUMSUB', channel])).toEqual([channel, 1]);
    const seenBefore = viewer.messages.length;
    host.send({ type: 'pause', position: 7 });
    await host.next('pause');
    // The pause went out on the party's channel, and the viewer's server was not there to hear it.
    await expect
      .poll(() =>
        published
          .filter((message) => message.startsWith(FRAME))
          .map((message) => JSON.parse(message.slice(FRAME.length)) as Record<string, unknown>),
      )
      .toContainEqual(expect.objectContaining({ type: 'pause', is_playing: false, anchor_position: 7 }));
    await sleep(300);
    expect(viewer.messages.slice(seenBefore)).toEqual([]);
    await admin.sendCommand(['CONFIG', 'SET', 'maxclients', maxClients]);

    // Subscribed again, the viewer's server catches it up (state, then sync) to the paused party.
    const state = await viewer.next('state', () => true, 5_000);
    expect(state.party.playback).toMatchObject({ is_playing: false, anchor_position: 7 });
    expect(await viewer.next('sync')).toMatchObject({ is_playing: false, anchor_position: 7 });
    expect(viewer.of('pause')).toEqual([]);
    host.close();
    viewer.close();
  });
});
