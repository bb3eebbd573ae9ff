// Two bot processes sharing one Redis (the redis project of the suite): exactly one of them listens
// to Parti and posts each go-live once, and when it dies the other takes over without a repeat.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubscriptionStore } from '../../src/alerts/subscriptions.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/index.js';
import { startBot, storeUrlFor, tempStoreFile, type BotProcess } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord, type FakeMessage } from '../support/fakeDiscord.js';
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
