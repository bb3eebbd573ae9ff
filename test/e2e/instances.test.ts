// Two bot processes sharing one Redis (the redis project of the suite): exactly one of them listens
// to Parti and posts each go-live once, and when it dies the other takes over without a repeat;
// each runs half of the gateway shards; and a watch party is one party across both, surviving the
// death of the process that owns it.
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubscriptionStore } from '../../src/alerts/subscriptions.js';
import { createLogger } from '../../src/logger.js';
import { createTokenSigner } from '../../src/party/tokens.js';
import { openStore } from '../../src/store/index.js';
import { startBot, storeUrlFor, tempStoreFile, type BotProcess } from '../support/bot.js';
import { expectContinuedTimeline, PartyClient } from '../party/harness.js';
import { guildIdOnShard, startFakeDiscord, type FakeDiscord, type FakeMessage } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const redis = process.env.TEST_STORE === 'redis';
const env = { ALERT_POLL_SECONDS: '1', ALERT_LEASE_SECONDS: '2' };

describe.runIf(redis)('two bot processes on one Redis', () => {
  let discord: FakeDiscord;
  let parti: FakeParti;
  let bots: BotProcess[] = [];
  let channelId: string;

  const alerts = (): FakeMessage[] =>
    discord.messages(channelId).filter((m) => m.author.id === discord.botUser.id && !m.interactionId);

  beforeAll(async () => {
    [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
    parti.clearLive();
    const guild = discord.addGuild({ name: 'Shared', channels: [{ name: 'alerts' }] });
    channelId = guild.channel('alerts').id;
    const storeFile = tempStoreFile();
    // The subscriptions, as /alerts add on either process would have stored them.
    const store = await openStore(storeUrlFor(storeFile), createLogger('silent'));
    const subscriptions = new SubscriptionStore(store.guilds);
    for (const [userId, name] of [
      [353044, 'BalthierGR'],
      [465731, 'worldoftshirts2001'],
    ] as const) {
      await subscriptions.upsert(
        { guildId: guild.id, channelId, target: { kind: 'creator', userId, name }, createdBy: 'test' },
        50,
      );
    }
    await store.close();
    bots = await Promise.all([
      startBot({ discord, parti, storeFile, env }),
      startBot({ discord, parti, storeFile, env }),
    ]);
  });
  afterAll(async () => {
    await Promise.all(bots.map((bot) => bot.stop()));
    await Promise.all([discord?.close(), parti?.close()]);
  });

  it('lets exactly one process listen and post each go-live once', async () => {
    await parti.waitForSubscription();
    await sleep(1_500);
    expect(parti.wsClients).toBe(1);
    const leaders = bots.filter((bot) => bot.logs.some((line) => line.msg === 'this process delivers go-live alerts'));
    expect(leaders).toHaveLength(1);

    parti.goLive(353044, { event_title: 'Shared stream' });
    await expect.poll(() => alerts().length, { timeout: 10_000 }).toBe(1);
    await sleep(2_000);
    expect(alerts().map((m) => m.embeds[0]?.title)).toEqual(['Shared stream']);
  });

  it('hands over when the delivering process dies, without repeating an alert', async () => {
    const leader = bots.find((bot) => bot.logs.some((line) => line.msg === 'this process delivers go-live alerts'))!;
    const follower = bots.find((bot) => bot !== leader)!;
    leader.child.kill('SIGKILL');
    await leader.exited;
    await follower.waitForLog('this process delivers go-live alerts', 10_000);
    await parti.waitForSubscription();
    // The stream alerted before is still live: the new leader's gap fill must not post it again.
    parti.goLive(465731, { event_title: 'After the handover' });
    await expect.poll(() => alerts().length, { timeout: 10_000 }).toBe(2);
    await sleep(2_500);
    expect(alerts().map((m) => m.embeds[0]?.title)).toEqual(['Shared stream', 'After the handover']);
    bots = [follower];
  });
});

describe.runIf(redis)('a watch party across two bot processes, one shard each', () => {
  const secret = 'e2e-party-secret-0123456789abcdefghijklmnop';
  const signer = createTokenSigner(new TextEncoder().encode(secret));
  let discord: FakeDiscord;
  let parti: FakeParti;
  let a: BotProcess;
  let b: BotProcess;
  let guildId: string;
  let channelId: string;
  let host: ReturnType<FakeDiscord['makeUser']>;
  let viewer: ReturnType<FakeDiscord['makeUser']>;
  let partyId: string;
  let hostToken: string;
  let viewerToken: string;
  let storeFile: string;

  const env = (shard: string) => ({
    SHARD_COUNT: '2',
    SHARD_IDS: shard,
    PARTY_SECRET: secret,
    PARTY_LEASE_SECONDS: '2',
    PUBLIC_URL: 'http://127.0.0.1:9',
  });

  /** A player socket on `bot` (the same client the party server tests use). */
  async function player(bot: BotProcess, token: string, id = partyId): Promise<PartyClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${bot.port}/api/v1/watch-parties/${id}/ws`, [
      'watch-party.v1',
      `bearer.${token}`,
    ]);
    const client = new PartyClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.next('state', undefined, 10_000);
    return client;
  }

  const label = (message: FakeMessage, text: string) =>
    message.components.flatMap((row: any) => row.components ?? []).find((c: any) => c.label === text);

  beforeAll(async () => {
    [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
    storeFile = tempStoreFile();
    [a, b] = await Promise.all([
      startBot({ discord, parti, storeFile, env: env('0') }),
      startBot({ discord, parti, storeFile, env: env('1') }),
    ]);
    host = discord.makeUser({ username: 'host' });
    viewer = discord.makeUser({ username: 'viewer' });
  });
  afterAll(async () => {
    await Promise.all([a, b].map((bot) => bot?.stop()));
    await Promise.all([discord?.close(), parti?.close()]);
  });

  it('answers each guild once, from the process that runs its shard', async () => {
    expect(discord.identifies).toBe(2);
    for (const [shard, bot, other] of [
      [0, a, b],
      [1, b, a],
    ] as const) {
      const guild = discord.addGuild({
        id: guildIdOnShard(shard, 2),
        name: `on shard ${shard}`,
        channels: [{ name: 'watch' }],
      });
      await bot.waitForLog((line) => line.msg === 'guild available' && line.guildId === guild.id, 10_000);
      const command = discord.command({
        guildId: guild.id,
        channelId: guild.channel('watch').id,
        user: host,
        name: 'parti',
        subcommand: 'categories',
      });
      expect((await command.reply()).embeds[0]?.title).toBe('Parti categories');
      expect(discord.requests.filter((r) => r.path.startsWith(`/interactions/${command.id}/`))).toHaveLength(1);
      expect(other.logs.some((line) => line.guildId === guild.id)).toBe(false);
      if (shard === 0) {
        guildId = guild.id;
        channelId = guild.channel('watch').id;
      }
    }
  });

  it("relays the host's commands on one process to a viewer on the other", async () => {
    // Created through Discord on A (its guild is on shard 0), so A owns the party.
    const created = await discord
      .command({
        guildId,
        channelId,
        user: host,
        name: 'party',
        subcommand: 'create',
        options: { source: 'https://parti.com/video/80892', title: 'Across' },
      })
      .reply();
    hostToken = new URLSearchParams(new URL(label(created, 'Open the player').url).hash.slice(1)).get('token')!;
    const panel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Across');
    partyId = (label(panel, 'Play').custom_id as string).split(':')[2]!;
    const joined = await discord
      .button({ message: panel, customId: label(panel, 'Join').custom_id, user: viewer })
      .reply();
    viewerToken = new URLSearchParams(new URL(label(joined, 'Open the player').url).hash.slice(1)).get('token')!;

    // The host's player is behind the load balancer on B, the viewer's on A.
    const hostPlayer = await player(b, hostToken);
    const viewerPlayer = await player(a, viewerToken);
    await discord.button({ message: panel, customId: label(panel, 'Play').custom_id, user: host }).reply();
    const play = await viewerPlayer.next('play');
    expect(play).toMatchObject({ is_playing: true, actor_user_id: host.id });
    expect((await hostPlayer.next('play')).seq).toBe(play.seq);

    hostPlayer.send({ type: 'seek', position: 40 });
    expect(await viewerPlayer.next('seek')).toMatchObject({ anchor_position: 40, actor_user_id: host.id });
    hostPlayer.close();
    viewerPlayer.close();
  });

  it('holds the capacity when people join through both processes at once', async () => {
    const { token } = await signer.sign({ id: 'cap-host', name: 'Cap host', avatar: null });
    const created = await fetch(`${b.url}/api/v1/watch-parties`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Small room', max_participants: 4 }),
    });
    const { invite_code: code } = ((await created.json()) as any).data;
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const joiner = await signer.sign({ id: `crowd-${i}`, name: `Crowd ${i}`, avatar: null });
        const answer = await fetch(`${(i % 2 ? a : b).url}/api/v1/watch-parties/${code}/join`, {
          method: 'POST',
          headers: { authorization: `Bearer ${joiner.token}` },
        });
        return answer.status;
      }),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 403)).toHaveLength(7);
  });

  it('stops a stalled owner from acting once its lease ran out: its host is relayed to the new owner', async () => {
    const call = async (bot: BotProcess, method: string, path: string, token: string, body?: unknown) => {
      const answer = await fetch(`${bot.url}/api/v1/watch-parties${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: answer.status, body: (await answer.json()) as any };
    };
    // Created on A, so A owns it; the host's player is on A, a viewer's on B.
    const hostSigned = await signer.sign({ id: 'stall-host', name: 'Stall host', avatar: null });
    const created = (
      await call(a, 'POST', '', hostSigned.token, { title: 'Stalled', source: 'https://parti.com/video/80892' })
    ).body.data;
    const viewerSigned = await signer.sign({ id: 'stall-viewer', name: 'Stall viewer', avatar: null });
    const joined = await call(b, 'POST', `/${created.invite_code}/join`, viewerSigned.token);
    expect(joined.status).toBe(200);
    const hostOnA = await player(a, created.token, created.id);
    const viewerOnB = await player(b, joined.body.data.token, created.id);

    // A stalls (a long GC pause, a frozen VM) past its lease: B takes the party over.
    a.child.kill('SIGSTOP');
    try {
      await b.waitForLog((line) => line.msg === 'watch party taken over' && line.partyId === created.id, 15_000);
      // The host seeks on A while it is still stopped: A reads it the moment it runs again, before the
      // answer to its lease renewal can tell it the party is gone.
      hostOnA.send({ type: 'seek', position: 77 });
      await sleep(200);
    } finally {
      a.child.kill('SIGCONT');
    }
    // A applied nothing itself: B, the owner, did, and told everyone, on both processes, once.
    const seek = await viewerOnB.next('seek', undefined, 10_000);
    expect(seek).toMatchObject({ anchor_position: 77, actor_user_id: 'stall-host' });
    expect((await hostOnA.next('seek', undefined, 5_000)).seq).toBe(seek.seq);
    const onB = (await call(b, 'GET', `/${created.id}`, created.token)).body.data;
    expect(onB.current_position_seconds).toBeGreaterThanOrEqual(77);
    expect(onB.current_position_seconds).toBeLessThan(80);
    expect(
      a.logs.some((line) => line.msg === 'watch party lease ran out before it was renewed; letting the party go'),
    ).toBe(true);
    hostOnA.close();
    viewerOnB.close();
  });

  it('carries the party on from the other process when its owner is killed, without a jump', async () => {
    const hostPlayer = await player(b, hostToken);
    const viewerOnA = await player(a, viewerToken);
    hostPlayer.send({ type: 'play' });
    const play = await hostPlayer.next('play');
    // The owner writes the timeline right after sending it (a millisecond or so, never 250 ms);
    // a kill inside that window would lose this one change. Kill it just after.
    const store = await openStore(storeUrlFor(storeFile), createLogger('silent'));
    await expect
      .poll(async () => (await store.parties.get<{ seq: number }>(`timeline:${partyId}`))?.seq, { timeout: 2_000 })
      .toBe(play.seq);
    await store.close();

    a.child.kill('SIGKILL');
    await a.exited;
    expect(await viewerOnA.closed).toBe(1006);
    await b.waitForLog('watch party taken over', 10_000);
    // The host's socket on B never dropped; the viewer comes back through B and lands on the same timeline.
    expect(hostPlayer.ws.readyState).toBe(WebSocket.OPEN);
    const viewerOnB = await player(b, viewerToken);
    const state = viewerOnB.of('state')[0]!;
    expect(state.party.playback).toMatchObject({
      is_playing: true,
      anchor_position: play.anchor_position,
      anchor_server_time_ms: play.anchor_server_time_ms,
    });
    hostPlayer.send({ type: 'pause' });
    expectContinuedTimeline(play, await viewerOnB.next('pause'));
    // B edits the Discord panel now.
    await expect
      .poll(() => discord.messages(channelId).find((m) => m.embeds[0]?.title === '🎬 Across')?.embeds[0]?.description, {
        timeout: 8_000,
      })
      .toMatch(/⏸ Paused at 0:4\d/);
    hostPlayer.close();
    viewerOnB.close();
  });
});
