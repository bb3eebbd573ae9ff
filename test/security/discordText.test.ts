// Hostile text end to end: a party title, a clip title, a guest's name and a Parti creator's name,
// stream title and category that each carry a masked link, @everyone, a user mention, a
// right-to-left override and zero-width characters. The real bot shows them in Discord (the party
// panel, a go-live alert, the lookups) and in the watch-party API; what the fake Discord received
// is read as Discord would render it: no link to anywhere but Parti, no mention, nothing reordered
// or hidden, and every word still there for people to read.
import { setTimeout as sleep } from 'node:timers/promises';
import { PermissionFlagsBits } from 'discord.js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, tempStoreFile, type BotProcess } from '../support/bot.js';
import { hiddenCharacters, maskedLinks, mentionForms, shownText, SPOOF } from '../support/discordMarkdown.js';
import {
  button,
  startFakeDiscord,
  type FakeDiscord,
  type FakeGuild,
  type FakeMessage,
} from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';

const { maskedLink, everyone, mention, rlo, zeroWidth } = SPOOF;
const RECORDING = 80892; // a Parti recording the fake serves (by worldoftshirts2001)
const CREATOR = 777001; // a Parti creator made up here

/** Each hostile text, and the words a member should read from it once it is made harmless. */
const hostile = {
  partyTitle: `Movie ${rlo}night ${maskedLink} ${everyone} ${mention} zero${zeroWidth}width`,
  partyTitleShown: 'Movie night [Click me](https://evil.example) @everyone <@123456789012345678> zerowidth',
  clipTitle: `Second\u2066 feature ${maskedLink} @here ${mention} zero${zeroWidth}\u2060width`,
  clipTitleShown: 'Second feature [Click me](https://evil.example) @here <@123456789012345678> zerowidth',
  recordingTitle: `Rec${zeroWidth}orded ${rlo}show ${maskedLink} ${everyone} ${mention}`,
  recordingTitleShown:
    'Recorded show [Click me](https://evil.example) @everyone <@123456789012345678> — worldoftshirts2001',
  guestName: `${rlo}[Eve](https://evil.example)\u200d\u0007`,
  guestNameShown: '[Eve](https://evil.example)',
  creatorName: `Mal${zeroWidth}lory ${rlo}${maskedLink}`,
  creatorNameShown: 'Mallory [Click me](https://evil.example)',
  streamTitle: `Live ${rlo}now ${maskedLink} ${everyone} ${mention} zero${zeroWidth}width\n# big`,
  streamTitleShown: 'Live now [Click me](https://evil.example) @everyone <@123456789012345678> zerowidth # big',
  category: `Gam${zeroWidth}ing ${rlo}${maskedLink} ${mention}`,
  categoryShown: 'Gaming [Click me](https://evil.example) <@123456789012345678>',
};

/** The creator's stream as Parti lists it and announces it. */
const stream = {
  user_name: hostile.creatorName,
  event_title: hostile.streamTitle,
  category_name: hostile.category,
  viewers_count: 12,
};

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let guild: FakeGuild;
let watchChannel: string;
let alertsChannel: string;
let host: ReturnType<FakeDiscord['makeUser']>;
let admin: ReturnType<FakeDiscord['makeUser']>;

/**
 * Markdown as Discord would render it: no masked link to the evil site, no mention or @everyone
 * (a timestamp the bot wrote is fine), nothing reordered or hidden, and `shown` readable in it.
 */
function expectHarmless(where: string, markdown: string | undefined, shown: string): void {
  expect(markdown, where).toBeTypeOf('string');
  const text = markdown!;
  expect(
    maskedLinks(text).filter((link) => /^https?:\/\/evil\.example/i.test(link.url)),
    `${where}: a masked link Discord would render, in ${JSON.stringify(text)}`,
  ).toEqual([]);
  expect(
    mentionForms(text).filter((form) => !/^<t:\d+:[tTdDfFR]>$/.test(form)),
    `${where}: a mention Discord would render, in ${JSON.stringify(text)}`,
  ).toEqual([]);
  expect(hiddenCharacters(text), `${where}: hidden characters in ${JSON.stringify(text)}`).toEqual([]);
  expect(shownText(text), `${where}: what a member reads`).toContain(shown);
}

function field(message: FakeMessage, name: string): string | undefined {
  return message.embeds[0]?.fields?.find((f) => f.name === name)?.value;
}

async function connect(partyId: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${bot.port}/api/v1/watch-parties/${partyId}/ws`, [
    'watch-party.v1',
    `bearer.${token}`,
  ]);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

beforeAll(async () => {
  [discord, parti] = await Promise.all([startFakeDiscord(), startFakeParti()]);
  parti.clearLive();
  // The recording a party plays first: its title is Parti's.
  parti.addRecent({ event_id: RECORDING, event_title: hostile.recordingTitle });
  parti.setUser({ user_id: CREATOR, user_name: hostile.creatorName });
  guild = discord.addGuild({ name: 'Spoof test', channels: [{ name: 'watch' }, { name: 'alerts' }] });
  watchChannel = guild.channel('watch').id;
  alertsChannel = guild.channel('alerts').id;
  host = discord.makeUser({ username: 'host' });
  admin = discord.makeUser({ username: 'admin' });
  bot = await startBot({
    discord,
    parti,
    storeFile: tempStoreFile(), // Polled every second, Parti's live list is never older than that when /parti live reads it.
    env: { PUBLIC_URL: 'http://127.0.0.1:9', ALERT_POLL_SECONDS: '1' },
  });
  await parti.waitForSubscription();
});
afterAll(async () => {
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('a watch party with hostile titles and a hostile guest', () => {
  it('shows the titles and names on the panel and in replies as typed, harmless, and stores them clean', async () => {
    const command = (subcommand: string, options: Record<string, unknown>) =>
      discord.command({
        guildId: guild.id,
        channelId: watchChannel,
        user: host,
        name: 'party',
        subcommand,
        options: options as never,
      });
    const created = await command('create', {
      source: `https://parti.com/video/${RECORDING}`,
      title: hostile.partyTitle,
      'wait-for-everyone': true,
    }).reply();
    const panel = await discord.waitForMessage(watchChannel, (m) => m.embeds[0]?.title?.startsWith('🎬') === true);
    const partyId = (button(panel, 'Play').custom_id as string).split(':')[2]!;
    const inviteCode = /Invite code `([A-Z0-9]{6})`/.exec(created.content)![1]!;
    const current = () => discord.messages(watchChannel).find((m) => m.id === panel.id)!;

    const added = await command('add', {
      source: `https://parti.com/video/${RECORDING}`,
      title: hostile.clipTitle,
    }).reply();
    expectHarmless('/party add reply', added.content, `Added **${hostile.clipTitleShown}** to the queue`);

    // The API answers with what was stored: the titles and the guest's name cleaned.
    const guest = await fetch(`${bot.url}/api/v1/watch-parties/${inviteCode}/guest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ display_name: hostile.guestName }),
    });
    expect(guest.status).toBe(201);
    const joined = ((await guest.json()) as any).data;
    expect(joined.user.display_name).toBe(hostile.guestNameShown);
    expect(joined.party.title).toBe(hostile.partyTitleShown);
    expect(joined.party.queue.map((clip: { title: string }) => clip.title)).toEqual([
      hostile.recordingTitleShown,
      hostile.clipTitleShown,
    ]);
    const stored = await fetch(`${bot.url}/api/v1/watch-parties/${partyId}/participants`);
    expect(((await stored.json()) as any).data.participants.map((p: any) => p.user.display_name)).toContain(
      hostile.guestNameShown,
    );

    // The host plays; the guest's player buffers, so the panel says whom the party waits for.
    const hostToken = new URLSearchParams(new URL(button(created, 'Open the player').url).hash.slice(1)).get('token')!;
    const sockets = [await connect(partyId, hostToken), await connect(partyId, joined.token)];
    sockets[0]!.send(JSON.stringify({ type: 'play' }));
    await sleep(300);
    sockets[1]!.send(JSON.stringify({ type: 'buffering', buffering: true }));
    await expect.poll(() => current().embeds[0]?.description, { timeout: 6_000 }).toMatch(/⏳ Waiting for/);

    const embed = current().embeds[0]!;
    expectHarmless('panel title', embed.title, `🎬 ${hostile.partyTitleShown}`);
    expectHarmless('panel now playing', embed.description, `**Now playing:** ${hostile.recordingTitleShown}`);
    expectHarmless('panel waiting for', embed.description, `Waiting for ${hostile.guestNameShown}, at`);
    expectHarmless('panel up next', field(current(), 'Up next'), `1. ${hostile.clipTitleShown}`);

    const join = await command('join', {}).reply();
    expectHarmless('/party join reply', join.content, `You joined **${hostile.partyTitleShown}**.`);
    for (const socket of sockets) socket.close();

    // The panel a party leaves behind when it ends.
    const ended = await discord
      .button({ message: current(), customId: button(current(), 'End').custom_id, user: host })
      .reply();
    expectHarmless('ended panel title', ended.embeds[0]?.title, `🎬 ${hostile.partyTitleShown}`);
  });
});

describe('a Parti creator whose name, stream title and category are hostile', () => {
  it('posts a go-live alert showing them as typed, harmless', async () => {
    const saved = await discord
      .command({
        guildId: guild.id,
        channelId: alertsChannel,
        user: admin,
        permissions: PermissionFlagsBits.ManageGuild,
        name: 'alerts',
        subcommand: 'add',
        options: { creator: String(CREATOR), channel: alertsChannel },
      })
      .reply();
    expectHarmless('/alerts add reply', saved.embeds[0]?.fields?.[0]?.value, `Creator **${hostile.creatorNameShown}**`);

    parti.goLive(CREATOR, stream);
    const alert = await discord.waitForMessage(
      alertsChannel,
      (m) => m.author.id === discord.botUser.id && !m.interactionId && m.embeds.length > 0,
    );
    expect(alert.mention_everyone).toBe(false);
    expect(alert.mentions).toEqual([]);
    expectHarmless(
      'alert text',
      alert.content,
      `**${hostile.creatorNameShown}** is live on Parti: ${hostile.streamTitleShown}`,
    );
    const card = alert.embeds[0]!;
    expectHarmless('alert card title', card.title, hostile.streamTitleShown);
    expectHarmless('alert card category', field(alert, 'Category'), hostile.categoryShown);
    // The author line is plain text in Discord: cleaned, with no escape to show as a backslash.
    expect(card.author?.name).toBe(`${hostile.creatorNameShown} · LIVE on Parti`);
  });

  it('shows them harmless in /parti live and /parti user', async () => {
    const lookup = (subcommand: string, options: Record<string, unknown> = {}) =>
      discord
        .command({
          guildId: guild.id,
          channelId: alertsChannel,
          user: admin,
          name: 'parti',
          subcommand,
          options: options as never,
        })
        .reply();

    // Live already if the alert test ran (the same stream again changes nothing).
    parti.setLive(CREATOR, stream);
    await expect
      .poll(async () => (await lookup('live')).embeds[0]?.description, { timeout: 6_000 })
      .not.toBe('Nobody is live on Parti right now.');
    const live = (await lookup('live')).embeds[0]!;
    expectHarmless('/parti live creator', live.description, hostile.creatorNameShown);
    expectHarmless('/parti live title', live.description, ` — ${hostile.streamTitleShown.slice(0, 40)}`);
    expectHarmless('/parti live category', live.description, hostile.categoryShown);

    const card = (await lookup('user', { query: String(CREATOR) })).embeds[0]!;
    expectHarmless('/parti user title', card.title, `🔴 ${hostile.creatorNameShown}`);
    const liveNow = card.fields?.find((f) => f.name === 'Live now')?.value;
    expectHarmless('/parti user live now', liveNow, hostile.streamTitleShown);
    expectHarmless('/parti user category', liveNow, hostile.categoryShown);
  });
});
