// Go-live alerts across a crash: the real bot is killed (SIGKILL: no shutdown, nothing flushed)
// after it logged a go-live in its store and while its post is not done, then started again on the
// same store. The card is neither posted twice nor lost. Discord here is the fake, which honours
// `nonce` + `enforce_nonce` as Discord does: a repeated nonce gets back the message it already made.
import { setTimeout as sleep } from 'node:timers/promises';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeMessage } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const BALTHIER = 353044;
const WORLD = 465731;
// A lease of 1 s: on Redis the restarted process takes over the dead one's alert lease at once.
const env = { ALERT_POLL_SECONDS: '1', ALERT_LEASE_SECONDS: '1' };

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let storeFile: string;

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  parti.clearLive();
  guild = discord.addGuild({
    name: 'Parti fans',
    channels: [{ name: 'general' }, { name: 'live' }, { name: 'shirts' }],
  });
  storeFile = tempStoreFile();
  bot = await startBot({ discord, parti, storeFile, env });
  await parti.waitForSubscription();
});
afterAll(async () => {
  await bot?.stop();
  expect(discord?.internalErrors).toEqual([]);
  await Promise.all([discord?.close(), parti?.close()]);
});

async function subscribe(creator: number, channelId: string): Promise<void> {
  const reply = await discord
    .command({
      guildId: guild.id,
      channelId: guild.channel('general').id,
      user: discord.makeUser({ username: 'admin' }),
      permissions: PermissionFlagsBits.ManageGuild,
      name: 'alerts',
      subcommand: 'add',
      options: { creator: String(creator), channel: channelId },
    })
    .reply();
  expect(reply.embeds[0]?.title).toBe('Alert saved');
}

/** The alert cards the bot posted in a channel. */
function cards(channelId: string): FakeMessage[] {
  return discord.messages(channelId).filter((m) => m.author.id === discord.botUser.id && !m.interactionId);
}

const messageCreates = (channelId: string) =>
  discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages`);

/** Kills the bot the hard way and starts it again on the same store; resolves once it delivers alerts. */
async function crashAndRestart(): Promise<void> {
  await bot.stop('SIGKILL');
  expect(bot.child.signalCode).toBe('SIGKILL');
  const subscriptionsBefore = parti.subscriptions.length;
  bot = await startBot({ discord, parti, storeFile, env });
  await expect.poll(() => parti.subscriptions.length, { timeout: 10_000 }).toBeGreaterThan(subscriptionsBefore);
}

describe('a crash in the middle of an alert', () => {
  it('posts no second card when the bot dies after Discord made the card but before the bot heard back', async () => {
    const channelId = guild.channel('live').id;
    await subscribe(BALTHIER, channelId);
    const held = discord.holdAnswer('POST', `/channels/${channelId}/messages`);
    parti.goLive(BALTHIER, { event_title: 'Died mid-post' });
    const first = await held.processed;
    expect(cards(channelId)).toHaveLength(1);
    expect(bot.logs.some((line) => line.msg === 'alert posted')).toBe(false);

    await crashAndRestart();
    // Still live: the restarted bot reads the live list, finds no record of a post, and posts again.
    await bot.waitForLog('alert posted', 15_000);
    await sleep(1_500);
    const creates = messageCreates(channelId);
    expect(creates).toHaveLength(2);
    expect(first.body).toMatchObject({ nonce: expect.any(String), enforce_nonce: true });
    expect(creates[1]!.body).toMatchObject({ nonce: (first.body as { nonce: string }).nonce, enforce_nonce: true });
    // The title as Discord gets it: markdown escaped (escapeDiscord), so it shows as typed.
    expect(cards(channelId).map((m) => m.embeds[0]?.title)).toEqual(['Died mid\\-post']);
  });

  it('still posts the card when the bot dies after logging the go-live but before its post got through', async () => {
    const channelId = guild.channel('shirts').id;
    await subscribe(WORLD, channelId);
    // Discord turns the post away for a minute (429): the bot is waiting to send it when it dies.
    discord.failRoute('POST', `/channels/${channelId}/messages`, { status: 429, retryAfter: 60, times: 1 });
    parti.goLive(WORLD, { event_title: 'Shirts, at last' });
    await discord.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/channels/${channelId}/messages` && r.status === 429,
    );
    expect(cards(channelId)).toHaveLength(0);

    await crashAndRestart();
    await bot.waitForLog('alert posted', 15_000);
    await sleep(1_500);
    expect(cards(channelId).map((m) => m.embeds[0]?.title)).toEqual(['Shirts, at last']);
  });
});
