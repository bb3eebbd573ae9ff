// The party's chat as people see it on both sides: two player pages in real Chromium, opened from
// their Discord links, and the party's thread in the fake Discord, with the real bot between them
// (PARTY_CHAT_BRIDGE=thread). A message typed on one page shows on the other and in the thread; one
// written in the thread shows on the pages; a delete on either side removes it on both.
import { PermissionFlagsBits } from 'discord.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import {
  button,
  DEFAULT_BOT_PERMISSIONS,
  startFakeDiscord,
  type FakeDiscord,
  type FakeMessage,
} from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { freePort } from '../support/freePort.js';
import { launchChromium, playerStats, waitFor } from './support.js';

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let browser: Browser;
let channelId: string;
let guildId: string;
let threadId: string;
let host: ReturnType<FakeDiscord['makeUser']>;
let viewer: ReturnType<FakeDiscord['makeUser']>;
let hostPage: Page;
let viewerPage: Page;

/** The chat lines a page shows, as text. */
const lines = (page: Page): Promise<string[]> =>
  page.evaluate(() =>
    [...(globalThis as any).document.querySelectorAll('#chat-log > li')].map((li: any) => String(li.textContent)),
  );

async function openPlayer(link: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(link);
  await waitFor('the player to connect', async () => (await playerStats(page)).connected === true, 10_000);
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
}

const webCopies = (): FakeMessage[] => discord.messages(threadId).filter((m) => m.webhook_id !== undefined);

beforeAll(async () => {
  [discord, parti, browser] = await Promise.all([startFakeDiscord(), startFakeParti(), launchChromium()]);
  const guild = discord.addGuild({ name: 'Movie night', channels: [{ name: 'watch' }] });
  discord.setBotPermissions(
    guild.id,
    DEFAULT_BOT_PERMISSIONS | PermissionFlagsBits.CreatePublicThreads | PermissionFlagsBits.ManageWebhooks,
  );
  guildId = guild.id;
  channelId = guild.channel('watch').id;
  host = discord.makeUser({ username: 'host', global_name: 'Hostess' });
  viewer = discord.makeUser({ username: 'viewer', global_name: 'Vee' });
  const port = await freePort();
  bot = await startBot({
    discord,
    parti,
    env: { HTTP_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, PARTY_CHAT_BRIDGE: 'thread' },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close()]);
});

describe('party chat on the pages and in the Discord thread', () => {
  it('shows a message typed on one page on the other and in the thread, posted by the webhook without mentions', async () => {
    const created = await discord
      .command({
        guildId,
        channelId,
        user: host,
        name: 'party',
        subcommand: 'create',
        options: { source: 'https://parti.com/video/80892', title: 'Talk night' },
      })
      .reply();
    const panel = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Talk night');
    threadId = discord.threads().find((t) => t.id === panel.id)!.id;
    const join = await discord
      .button({ message: panel, customId: button(panel, 'Join').custom_id, user: viewer })
      .reply();
    hostPage = await openPlayer(button(created, 'Open the player').url);
    viewerPage = await openPlayer(button(join, 'Open the player').url);

    await say(viewerPage, 'hello @everyone, see https://parti.com');
    await waitFor(
      'the host page to show it',
      async () => (await lines(hostPage)).some((l) => l.includes('hello')),
      5000,
    );
    const posted = await discord.waitForMessage(threadId, (m) => m.webhook_id !== undefined);
    expect(posted.author.username).toBe('Vee · web');
    expect(posted.allowed_mentions).toEqual({ parse: [] });
    expect(posted.mention_everyone).toBe(false);
    expect(posted.content).toBe('hello @\u200beveryone, see https://parti.com');
  });

  it('shows what a member writes in the thread on both pages', async () => {
    const fan = discord.makeUser({ username: 'fan', global_name: 'Big Fan' });
    discord.postUserMessage({ channelId: threadId, user: fan, content: 'greetings from the thread' });
    for (const page of [hostPage, viewerPage]) {
      await waitFor(
        'the thread message on the page',
        async () => (await lines(page)).some((l) => l.includes('Big Fan') && l.includes('greetings from the thread')),
        5000,
      );
    }
  });

  it('removes a message on both sides when the host deletes it on the page, or a moderator in Discord', async () => {
    const row = hostPage.locator('#chat-log > li', { hasText: 'hello' });
    await row.hover();
    await row.getByRole('button', { name: /delete/i }).click();
    await waitFor(
      'gone from the viewer page',
      async () => !(await lines(viewerPage)).some((l) => l.includes('hello')),
      5000,
    );
    await expect.poll(() => webCopies().length, { timeout: 5000 }).toBe(0);

    const fromThread = discord.messages(threadId).find((m) => m.content === 'greetings from the thread')!;
    discord.deleteMessage(threadId, fromThread.id);
    for (const page of [hostPage, viewerPage]) {
      await waitFor('gone from the page', async () => !(await lines(page)).some((l) => l.includes('greetings')), 5000);
    }
  });
});
