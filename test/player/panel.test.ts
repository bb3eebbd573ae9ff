// The whole path a watch party takes: the real bot process, Discord's panel buttons pressed through
// the fake Discord, and the web player in real Chromium moving with them.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type BotProcess } from '../support/bot.js';
import { button, startFakeDiscord, type FakeDiscord, type FakeMessage } from '../support/fakeDiscord.js';
import { startFakeParti, type FakeParti } from '../support/fakeParti.js';
import { launchChromium, makeMedia, playerStats, sleep, startMediaServer, waitFor } from './support.js';
import { freePort } from '../support/freePort.js';

let discord: FakeDiscord;
let parti: FakeParti;
let bot: BotProcess;
let browser: Browser;
let media: { url: string; close(): Promise<void> };
let channelId: string;
let guildId: string;
let host: ReturnType<FakeDiscord['makeUser']>;
let viewer: ReturnType<FakeDiscord['makeUser']>;
let pages: Page[] = [];

// Evaluated in the page; typed without the DOM library, which this test's tsconfig leaves out.
const video = (page: Page): Promise<{ paused: boolean; currentTime: number }> =>
  page.evaluate(() => {
    const v = (globalThis as any).document.querySelector('video');
    return { paused: Boolean(v.paused), currentTime: Number(v.currentTime) };
  });

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'panel-media-'));
  await Promise.all([
    makeMedia(dir, 'first', { seconds: 40, format: 'mp4' }),
    makeMedia(dir, 'second', { seconds: 20, format: 'mp4' }),
  ]);
  [discord, parti, media, browser] = await Promise.all([
    startFakeDiscord(),
    startFakeParti(),
    startMediaServer(dir),
    launchChromium(),
  ]);
  const guild = discord.addGuild({ name: 'Movie night', channels: [{ name: 'watch' }] });
  guildId = guild.id;
  channelId = guild.channel('watch').id;
  host = discord.makeUser({ username: 'host' });
  viewer = discord.makeUser({ username: 'viewer' });
  // The links the bot hands out must reach it, so its port is chosen before it starts.
  const port = await freePort();
  bot = await startBot({
    discord,
    parti,
    env: { HTTP_PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await bot?.stop();
  await Promise.all([discord?.close(), parti?.close(), media?.close()]);
});

async function openPlayer(link: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(link);
  await waitFor('the player to connect', async () => (await playerStats(page)).connected === true, 10_000);
  pages.push(page);
  return page;
}

describe('the Discord panel drives the web player', () => {
  let panel: () => FakeMessage;

  it('opens the host and a viewer from their Discord links', async () => {
    const created = await discord
      .command({
        guildId,
        channelId,
        user: host,
        name: 'party',
        subcommand: 'create',
        options: { source: `${media.url}/first.mp4`, title: 'Panel night' },
      })
      .reply();
    const posted = await discord.waitForMessage(channelId, (m) => m.embeds[0]?.title === '🎬 Panel night');
    panel = () => discord.messages(channelId).find((m) => m.id === posted.id)!;
    const join = await discord
      .button({ message: panel(), customId: button(panel(), 'Join').custom_id, user: viewer })
      .reply();
    pages = [];
    await openPlayer(button(created, 'Open the player').url);
    await openPlayer(button(join, 'Open the player').url);
    expect((await playerStats(pages[0]!)).role).toBe('host');
    expect((await playerStats(pages[1]!)).role).toBe('viewer');
    for (const page of pages) expect((await video(page)).paused).toBe(true);
  });

  it('Play, +10 s and Pause on the panel move every page', async () => {
    await discord.button({ message: panel(), customId: button(panel(), 'Play').custom_id, user: host }).reply();
    for (const page of pages) {
      await waitFor(
        'playing',
        async () => {
          const state = await video(page);
          return !state.paused && state.currentTime > 0.3;
        },
        10_000,
      );
    }
    const before = (await video(pages[1]!)).currentTime;
    await discord.button({ message: panel(), customId: button(panel(), '+10 s').custom_id, user: host }).reply();
    for (const page of pages) {
      await waitFor('ten seconds further', async () => (await video(page)).currentTime > before + 9.5, 10_000);
    }
    await discord.button({ message: panel(), customId: button(panel(), 'Pause').custom_id, user: host }).reply();
    // Both stop, then settle on the same frame (a page that paused late seeks back to the pause point).
    const together = async () => {
      const [a, b] = await Promise.all(pages.map(video));
      return a!.paused && b!.paused && Math.abs(a!.currentTime - b!.currentTime) < 0.25;
    };
    await waitFor('both paused on the same frame', together, 10_000);
    await sleep(500);
    expect(await together()).toBe(true);
  });

  it("refuses the viewer's press on the panel, and the pages stay paused", async () => {
    const refusal = await discord
      .button({ message: panel(), customId: button(panel(), 'Play').custom_id, user: viewer })
      .reply();
    expect(refusal.content).toBe('Only the host and co-hosts can do that.');
    await new Promise((resolve) => setTimeout(resolve, 800));
    for (const page of pages) expect((await video(page)).paused).toBe(true);
  });

  it('Skip on the panel moves every page to the next clip, shown by the title given with /party add', async () => {
    const added = await discord
      .command({
        guildId,
        channelId,
        user: host,
        name: 'party',
        subcommand: 'add',
        options: { source: `${media.url}/second.mp4`, title: 'The <b>second</b> *feature*' },
      })
      .reply();
    // Discord shows the title as typed: the markdown and the `<` that would open a mention are escaped.
    expect(added.content).toBe('Added **The \\<b\\>second\\</b\\> \\*feature\\*** to the queue (position 2).');
    const first = (await playerStats(pages[0]!)).clipId;
    await discord.button({ message: panel(), customId: button(panel(), 'Skip').custom_id, user: host }).reply();
    for (const page of pages) {
      await waitFor('the next clip', async () => (await playerStats(page)).clipId !== first, 10_000);
      await waitFor('the new clip from its start', async () => (await video(page)).currentTime < 5, 10_000);
      expect(await page.locator('#now-playing').innerText()).toBe('The <b>second</b> *feature*');
    }
  });
});
