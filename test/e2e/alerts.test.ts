// Go-live alerts end to end: the real bot process, Parti's push socket and live list (fake Parti),
// Discord (fake Discord). Assertions are on the messages a server would see.
import { setTimeout as sleep } from 'node:timers/promises';
import { PermissionFlagsBits } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import { startFakeDiscord, type FakeDiscord, type FakeGuild, type FakeMessage } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const BALTHIER = 353044; // profile fixture: BalthierGR, linked to twitter:KickBalthierGR
const WORLD = 465731; // worldoftshirts2001
const MINK = 123456; // Inquisitive Mink

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let storeFile: string;
let admin: ReturnType<FakeDiscord['makeUser']>;
let alertsChannel: string;
let general: string;
let pingRole: string;

const env = {
  ALERT_MAX_PER_GUILD: '4',
  ALERT_POLL_SECONDS: '1',
  ALERT_GRACE_SECONDS: '30',
  ALERT_EDIT_SECONDS: '1',
  ALERT_CATEGORY_CAP_PER_HOUR: '2',
};

function alertsCommand(
  subcommand: string,
  options: Record<string, unknown> = {},
  user = admin,
  permissions = PermissionFlagsBits.ManageGuild,
) {
  return discord.command({
    guildId: guild.id,
    channelId: general,
    user,
    permissions,
    name: 'alerts',
    subcommand,
    options: options as never,
  });
}

/** Alert messages the bot posted in a channel (not interaction replies, not party panels). */
function posted(channelId: string): FakeMessage[] {
  return discord
    .messages(channelId)
    .filter((m) => m.author.id === discord.botUser.id && !m.interactionId && !m.embeds[0]?.title?.startsWith('🎬'));
}

/** Waits until `channelId` has `count` bot messages, then a little longer to catch any extra. */
async function expectPosts(channelId: string, count: number, settleMs = 1_500): Promise<FakeMessage[]> {
  await expect.poll(() => posted(channelId).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count);
  await sleep(settleMs);
  const messages = posted(channelId);
  expect(messages).toHaveLength(count);
  return messages;
}

async function subscriptionId(match: RegExp): Promise<string> {
  const choices = await discord.autocomplete({
    guildId: guild.id,
    channelId: general,
    user: admin,
    permissions: PermissionFlagsBits.ManageGuild,
    name: 'alerts',
    subcommand: 'remove',
    options: { subscription: '' },
    focused: 'subscription',
  });
  const found = choices.find((choice) => match.test(choice.name));
  if (!found) throw new Error(`no subscription matching ${match}: ${JSON.stringify(choices)}`);
  return String(found.value);
}

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  parti.clearLive();
  guild = discord.addGuild({
    name: 'Parti fans',
    channels: [{ name: 'general' }, { name: 'alerts' }, { name: 'music' }],
    roles: [{ name: 'Live pings', permissions: '0', mentionable: true }],
  });
  general = guild.channel('general').id;
  alertsChannel = guild.channel('alerts').id;
  pingRole = guild.role('Live pings').id;
  admin = discord.makeUser({ username: 'admin' });
  storeFile = tempStoreFile();
  bot = await startBot({ discord, parti, storeFile, env });
  await parti.waitForSubscription();
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('setting alerts up', () => {
  it('refuses members without Manage Server', async () => {
    const member = discord.makeUser({ username: 'member' });
    const reply = await alertsCommand('add', { creator: String(BALTHIER) }, member, 0n).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe('Only members with the **Manage Server** permission can set up alerts.');
    expect(discord.commands().find((c: { name: string }) => c.name === 'alerts')).toMatchObject({
      default_member_permissions: String(PermissionFlagsBits.ManageGuild),
    });
  });

  it('refuses an unknown placeholder and lists the valid ones', async () => {
    const reply = await alertsCommand('add', {
      creator: String(BALTHIER),
      message: '{creator} is live {game}',
    }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toBe(
      'The message uses `{game}`, which I do not know. You can use `{creator}`, `{title}`, `{category}`, `{viewers}`, `{url}`, `{role}`.',
    );
  });

  it('needs exactly one of creator and category', async () => {
    const both = await alertsCommand('add', { creator: String(BALTHIER), category: '7' }).reply();
    expect(both.content).toBe('Give either a `creator` or a `category`, not both and not neither.');
  });

  it('says exactly which permission it lacks in the channel', async () => {
    discord.setChannelPermissions(guild.channel('music').id, [
      { id: guild.botRoleId, type: 0, deny: PermissionFlagsBits.EmbedLinks },
    ]);
    const reply = await alertsCommand('add', { creator: String(BALTHIER), channel: guild.channel('music').id }).reply();
    expect(reply.content).toBe(
      `I cannot post alerts in <#${guild.channel('music').id}>: I am missing **Embed Links** there. Give me that permission and try again.`,
    );
  });

  it('saves a creator alert with a role and a template', async () => {
    const reply = await alertsCommand('add', {
      creator: 'twitter:KickBalthierGR',
      channel: alertsChannel,
      role: pingRole,
      message: '{role} {creator} is live: {title} ({viewers} watching) {url}',
    }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.embeds[0]?.title).toBe('Alert saved');
    expect(reply.embeds[0]?.fields?.[0]?.value).toBe('Creator **BalthierGR**');
  });
});

describe('delivering alerts', () => {
  let eventId: number;

  it('posts exactly one alert with the role ping, the card and a watch link when the creator goes live', async () => {
    const payload = parti.goLive(BALTHIER, {
      event_title: 'Games and music *tonight*',
      viewers_count: 120,
      category_name: 'Gaming',
    });
    eventId = payload.event_id;
    const [alert] = await expectPosts(alertsChannel, 1);
    expect(alert!.content).toBe(
      `<@&${pingRole}> BalthierGR is live: Games and music \\*tonight\\* (120 watching) https://parti.com/KickBalthierGR`,
    );
    expect(alert!.allowed_mentions).toEqual({ parse: [], roles: [pingRole] });
    expect(alert!.mention_roles).toEqual([pingRole]);
    const card = alert!.embeds[0]!;
    // Discord renders markdown in embed titles: the stars show as typed, not as italics.
    expect(card.title).toBe('Games and music \\*tonight\\*');
    expect(card.author?.name).toBe('BalthierGR · LIVE on Parti');
    expect(card.fields).toEqual(
      expect.arrayContaining([
        { name: 'Category', value: 'Gaming', inline: true },
        { name: 'Viewers', value: '120', inline: true },
      ]),
    );
    expect(card.image?.url).toBe(payload.event_file);
    expect(alert!.components[0].components[0]).toMatchObject({
      label: 'Watch on Parti',
      url: 'https://parti.com/KickBalthierGR',
    });
    const line = await bot.waitForLog('alert posted');
    expect(line).toMatchObject({ userId: BALTHIER, source: 'push' });
    expect(await bot.metric('parti_bot_alerts_posted_total', { source: 'push' })).toBe(1);
    expect(await bot.metric('parti_bot_alert_latency_seconds_count')).toBe(1);
  });

  it('starts a watch party of the live stream from the card', async () => {
    const [alert] = posted(alertsChannel);
    const member = discord.makeUser({ username: 'fan' });
    const start = alert!.components[0].components[1];
    expect(start).toMatchObject({ label: 'Start watch party', custom_id: `party:live:${BALTHIER}` });
    const reply = await discord.button({ message: alert!, customId: start.custom_id, user: member }).reply();
    expect(reply.ephemeral).toBe(true);
    expect(reply.content).toMatch(/^Your watch party is up\. Invite code `[A-Z0-9]{6}`/);
    const panel = await discord.waitForMessage(alertsChannel, (m) => m.embeds[0]?.title?.startsWith('🎬') ?? false);
    expect(panel.embeds[0]?.description).toMatch(/^\*\*Now playing:\*\* .* \(live\)/);
    expect(panel.embeds[0]?.fields?.find((f) => f.name === 'Host')?.value).toBe(`<@${member.id}>`);
  });

  it('posts nothing for a duplicate push, an unsubscribed creator, or junk on the socket', async () => {
    parti.push({ ...parti.goLive(BALTHIER, { event_id: eventId, event_title: 'Games and music *tonight*' }) });
    parti.goLive(MINK);
    parti.push('this is not json');
    parti.push({ subscribe_options: { ChatPublic: { user_id: 1 } } });
    parti.push([1, 2, 3]);
    await expectPosts(alertsChannel, 1, 2_500);
    expect((await bot.healthz()).status).toBe(200);
    parti.setLive(MINK, null);
  });

  it('keeps the viewer count fresh, then edits the card into a summary with duration and peak viewers', async () => {
    parti.setLive(BALTHIER, {
      event_id: eventId,
      event_title: 'Games and music *tonight*',
      category_name: 'Gaming',
      viewers_count: 250,
    });
    await expect
      .poll(() => posted(alertsChannel)[0]?.embeds[0]?.fields?.find((f) => f.name === 'Viewers')?.value, {
        timeout: 10_000,
      })
      .toBe('250');
    parti.setLive(BALTHIER, {
      event_id: eventId,
      event_title: 'Games and music *tonight*',
      category_name: 'Gaming',
      viewers_count: 180,
    });
    await expect
      .poll(() => posted(alertsChannel)[0]?.embeds[0]?.fields?.find((f) => f.name === 'Viewers')?.value, {
        timeout: 10_000,
      })
      .toBe('180');
    parti.addRecent({
      user_id: BALTHIER,
      user_name: 'BalthierGR',
      event_id: eventId,
      event_title: 'Games and music *tonight*',
      total_viewers: 300,
    });
    parti.setLive(BALTHIER, null);
    await expect
      .poll(() => posted(alertsChannel)[0]?.embeds[0]?.author?.name, { timeout: 10_000 })
      .toBe('BalthierGR · Stream ended');
    const [summary] = posted(alertsChannel);
    const fields = Object.fromEntries((summary!.embeds[0]!.fields ?? []).map((f) => [f.name, f.value]));
    expect(fields['Peak viewers']).toBe('250');
    expect(fields['Duration']).toMatch(/^\d+ min$/);
    expect(fields['Ended']).toMatch(/^<t:\d+:R>$/);
    expect(summary!.components[0].components[0]).toMatchObject({
      label: 'Watch the recording',
      url: `https://parti.com/video/${eventId}`,
    });
    // The content (and its role ping) is left alone: editing never pings again.
    expect(summary!.content).toContain(`<@&${pingRole}>`);
    expect(posted(alertsChannel)).toHaveLength(1);
  });

  it('edits the same card back to live, without a new ping, when the creator returns within the grace period', async () => {
    parti.goLive(BALTHIER, { event_title: 'Back after a crash', viewers_count: 90 });
    await expect
      .poll(() => posted(alertsChannel)[0]?.embeds[0]?.author?.name, { timeout: 10_000 })
      .toBe('BalthierGR · LIVE on Parti');
    const [card] = await expectPosts(alertsChannel, 1);
    expect(card!.embeds[0]?.title).toBe('Back after a crash');
  });

  it('fills the gap when the socket was down: exactly one alert for a creator who went live meanwhile', async () => {
    await alertsCommand('add', { creator: String(WORLD), channel: general }).reply();
    const subscriptionsBefore = parti.subscriptions.length;
    parti.refuseConnections(true);
    parti.dropSockets();
    await sleep(300);
    // Live while the bot cannot hear the push (and the HTTP API is refused too, for a while).
    parti.setLive(WORLD, { event_title: 'Shirts and chill', viewers_count: 40 });
    await sleep(1_500);
    expect(posted(general)).toHaveLength(0);
    parti.refuseConnections(false);
    await parti.waitForSubscription(20_000);
    expect(parti.subscriptions.length).toBeGreaterThan(subscriptionsBefore);
    const [alert] = await expectPosts(general, 1, 2_500);
    expect(alert!.embeds[0]?.title).toBe('Shirts and chill');
    expect(alert!.allowed_mentions).toEqual({ parse: [], roles: [] });
  });
});

describe('category alerts', () => {
  it('alerts for every creator who goes live in the category, up to the hourly cap, and says so in /alerts list', async () => {
    const music = guild.channel('music').id;
    discord.setChannelPermissions(music, []);
    const reply = await alertsCommand('add', { category: '10', channel: music }).reply();
    expect(reply.embeds[0]?.fields?.[0]?.value).toMatch(/^Category \*\*Music\*\*/);
    for (const [i, userId] of [800001, 800002, 800003].entries()) {
      parti.setUser({ user_id: userId, user_name: `Singer${i}`, social_media: 'parti', social_username: `Singer${i}` });
      parti.goLive(userId, { category_name: 'Music', event_title: `Song ${i}` });
    }
    // A creator live in another category is not this subscription's business.
    parti.goLive(MINK, { category_name: 'Gaming' });
    const alerts = await expectPosts(music, 2, 2_000);
    // Which two win the race for the cap is up to timing; two different creators, never a repeat.
    const titles = alerts.map((m) => m.embeds[0]?.title);
    expect(new Set(titles).size).toBe(2);
    for (const title of titles) expect(['Song 0', 'Song 1', 'Song 2']).toContain(title);
    const list = await alertsCommand('list').reply();
    expect(list.embeds[0]?.description).toMatch(
      /category \*\*Music\*\* → <#\d+> · last alert <t:\d+:R>\n⚠️ Hit the cap of 2 alerts an hour <t:\d+:R>; 1 alert skipped so far\./,
    );
    for (const userId of [800001, 800002, 800003, MINK]) parti.setLive(userId, null);
  });
});

describe('when Discord refuses', () => {
  it('pauses a subscription whose channel answers 50013, stays up, and /alerts list says why', async () => {
    await alertsCommand('add', { creator: String(MINK), channel: alertsChannel }).reply();
    // The bot loses Send Messages after the alert was set up.
    discord.setChannelPermissions(alertsChannel, [
      { id: guild.botRoleId, type: 0, deny: PermissionFlagsBits.SendMessages },
    ]);
    const before = discord.requests.filter(
      (r) => r.method === 'POST' && r.path === `/channels/${alertsChannel}/messages`,
    ).length;
    parti.goLive(MINK, { event_title: 'Live while the channel was broken' });
    await bot.waitForLog(/pausing the channel/);
    await sleep(2_500);
    const attempts = discord.requests.filter(
      (r) => r.method === 'POST' && r.path === `/channels/${alertsChannel}/messages`,
    );
    expect(attempts.length - before).toBe(1);
    expect(attempts.at(-1)?.status).toBe(403);
    expect((await bot.healthz()).status).toBe(200);
    const list = await alertsCommand('list').reply();
    expect(list.embeds[0]?.description).toContain(
      '⚠️ **Paused**: I am missing a permission in that channel (Missing Permissions). Fix it, then run `/alerts test` on it to resume.',
    );
  });

  it('/alerts test posts a sample with nobody pinged once fixed, and resumes the subscription', async () => {
    discord.setChannelPermissions(alertsChannel, []);
    const id = await subscriptionId(/^BalthierGR \(creator\) → #alerts$/);
    // One 429 on the way: discord.js waits it out, the post still lands, and /metrics counts it.
    discord.failRoute('POST', `/channels/${alertsChannel}/messages`, { status: 429, retryAfter: 0.2, times: 1 });
    const reply = await alertsCommand('test', { subscription: id }).reply();
    expect(await bot.metric('parti_bot_discord_rate_limited_total')).toBe(1);
    expect(reply.content).toMatch(
      /^Posted a test alert in <#\d+> \(\[jump to it\]\(https:\/\/discord\.com\/channels\/\d+\/\d+\/\d+\)\)\. Nobody was pinged\.$/,
    );
    const sample = posted(alertsChannel).at(-1)!;
    expect(sample.allowed_mentions).toEqual({ parse: [] });
    expect(sample.mention_roles).toEqual([]);
    expect(sample.embeds[0]?.footer?.text).toMatch(/^Test alert/);
    const list = await alertsCommand('list').reply();
    expect(list.embeds[0]?.description).not.toContain('Paused');
    // Nothing is lost: the creator who went live while the channel was broken is still live, and
    // the next live-list read delivers that alert, once.
    await expect
      .poll(
        () => posted(alertsChannel).filter((m) => m.embeds[0]?.title === 'Live while the channel was broken').length,
        {
          timeout: 10_000,
        },
      )
      .toBe(1);
    await sleep(1_500);
    expect(
      posted(alertsChannel).filter((m) => m.embeds[0]?.title === 'Live while the channel was broken'),
    ).toHaveLength(1);
  });
});

describe('restarts', () => {
  it('keeps subscriptions and never repeats an alert after a restart on the same store', async () => {
    const live = parti.liveList();
    expect(live.length).toBeGreaterThan(0);
    const counts = [alertsChannel, general].map((id) => posted(id).length);
    expect(await bot.stop()).toBe(0);
    bot = await startBot({ discord, parti, storeFile, env });
    await parti.waitForSubscription();
    // The same creators are still live: the gap fill after reconnecting must post nothing new.
    await sleep(2_500);
    expect([alertsChannel, general].map((id) => posted(id).length)).toEqual(counts);
    const list = await alertsCommand('list').reply();
    expect(list.embeds[0]?.title).toBe('Alerts on this server (4 of 4)');
  });

  it('refuses an alert past the per-server limit, with what to do', async () => {
    const reply = await alertsCommand('add', { creator: '567503', channel: general }).reply();
    expect(reply.content).toBe(
      'This server already has 4 alerts, the most it can have. Remove one with `/alerts remove` first.',
    );
  });

  it('flags the alerts of a deleted channel in /alerts list', async () => {
    discord.deleteChannel(guild.channel('music').id);
    await bot.waitForLog('alert channel deleted');
    const list = await alertsCommand('list').reply();
    expect(list.embeds[0]?.description).toMatch(
      /category \*\*Music\*\* → <#\d+> · last alert <t:\d+:R>\n⚠️ \*\*Paused\*\*: the channel was deleted\./,
    );
  });

  it('removes an alert, and forgets a server the bot leaves', async () => {
    const id = await subscriptionId(/^worldoftshirts2001 \(creator\) → #general$/);
    const removed = await alertsCommand('remove', { subscription: id }).reply();
    expect(removed.content).toBe(`Removed the alert for **worldoftshirts2001** in <#${general}>.`);
    discord.removeGuild(guild.id);
    await bot.waitForLog(/its alert subscriptions were removed/);
    const line = bot.logs.find((l) => /its alert subscriptions were removed/.test(l.msg));
    expect(line).toMatchObject({ guildId: guild.id, removed: 3 });
  });
});
