// A watch party of a live stream in real Chromium: ffmpeg makes the stream in real time (2 s
// segments, a window of 6, program dates), Parti's channel info hands out its signed URL, and every
// page is measured by the frame number burned into the picture, not by the player's own numbers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchChromium,
  playerStats,
  readShownFrames,
  sleep,
  startLiveStream,
  startMediaServer,
  startPlayerStack,
  waitFor,
  type LiveStream,
  type MediaServer,
  type PlayerStack,
} from './support.js';

const CREATOR = 567503;
let stack: PlayerStack;
let media: MediaServer;
let stream: LiveStream;
/** The same kind of stream without #EXT-X-PROGRAM-DATE-TIME, started at once so it is ready when needed. */
let undated: LiveStream;
let undatedMedia: MediaServer;
let browser: Browser;
/** Playlist tokens the "CDN" accepts; the test rotates them as Parti would. */
const validTokens = new Set(['first']);
let partyId: string;
const contexts: BrowserContext[] = [];
let inviteCode: string;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Where each page's picture stands against the wall clock (the median over 8 frames), in ms. */
async function contentOffsets(pages: Page[]): Promise<number[]> {
  const reads = await Promise.all(pages.map((page) => readShownFrames(page, 8)));
  return reads.map((read) => {
    if (read.offsets.length < 4) throw new Error(`a page showed too few readable frames: ${JSON.stringify(read)}`);
    return median(read.offsets) * 1000;
  });
}

/** How far apart the pages' pictures are, sampled `rounds` times: max − min of their content offsets. */
async function spreads(pages: Page[], rounds: number): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const offsets = await contentOffsets(pages);
    result.push(Math.max(...offsets) - Math.min(...offsets));
    await sleep(250);
  }
  return result;
}

async function open(userId: string, name: string): Promise<Page> {
  const token =
    userId === 'host'
      ? (await stack.service.issueToken({ id: 'host', name: 'Host' }, partyId)).token
      : (await stack.service.joinByCode(inviteCode, { id: userId, name })).token;
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${stack.base}/watch-parties/${inviteCode}#token=${encodeURIComponent(token)}`);
  await waitFor(`${name}'s player to connect`, async () => (await playerStats(page)).connected === true, 10_000);
  // Counts the times the picture stops for want of data from here on.
  await page.evaluate(() => {
    const video = (globalThis as any).document.querySelector('video');
    (globalThis as any).stalls = 0;
    video.addEventListener('waiting', () => ((globalThis as any).stalls += 1));
  });
  return page;
}

const stalls = (page: Page): Promise<number> => page.evaluate(() => (globalThis as any).stalls as number);
const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'live-party-'));
  [media, undatedMedia, stack, browser, stream, undated] = await Promise.all([
    startMediaServer(dir, { playlistToken: (token) => token !== null && validTokens.has(token) }),
    startMediaServer(dir),
    // The signed URL is handed out again after 8 s, so the test sees a refresh without a long wait.
    startPlayerStack({ playableCacheMs: 8000 }),
    launchChromium(),
    startLiveStream(dir, 'live', { minSegments: 6 }),
    startLiveStream(dir, 'undated', { minSegments: 4, programDates: false }),
  ]);
  stack.fake.setLive(CREATOR, { playback_url: `${media.url}/${stream.path}`, playback_auth_token: 'first' });
  const created = await stack.service.createParty({
    host: { id: 'host', name: 'Host' },
    source: `creator:${CREATOR}`,
    title: 'Live together',
  });
  partyId = created.id;
  inviteCode = created.invite_code;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([stream?.stop(), undated?.stop()]);
  await stack?.close();
  await Promise.all([media?.close(), undatedMedia?.close()]);
});

describe('a live party', () => {
  let host: Page;
  let viewer: Page;
  // Pages left playing would take the cores from the next test's pages.
  afterAll(() => Promise.all(contexts.splice(0).map((context) => context.close())));

  it('knows the clip is live and starts everyone at the same content, 3 segments behind the live edge', async () => {
    const detail = (await stack.service.getParty(partyId))!;
    expect(detail.queue[0]).toMatchObject({ kind: 'parti-live', live: { clock: 'pdt', target_duration: 2 } });
    [host, viewer] = await Promise.all([open('host', 'Host'), open('viewer-1', 'Vic')]);
    await host.locator('#play-toggle').click();
    await waitFor('the host page to show LIVE', async () => (await text(host, '#time')) === 'LIVE', 10_000);
    const playback = (await stack.service.getParty(partyId))!.playback;
    expect(playback.live!.edge - playback.position).toBeCloseTo(6, 0);
    await sleep(3000); // settle
    const settled = await spreads([host, viewer], 12);
    expect(percentile(settled, 95), JSON.stringify(settled)).toBeLessThanOrEqual(100);
    expect(Math.max(...settled)).toBeLessThanOrEqual(250);
  }, 60_000);

  it('a viewer who joins 30 s later lands on the same content within 2 s; the signed URL is refreshed without a stall', async () => {
    // Parti signs the stream afresh; the old signature stops working once the new one is out.
    validTokens.add('second');
    stack.fake.setLive(CREATOR, { playback_url: `${media.url}/${stream.path}`, playback_auth_token: 'second' });
    const stallsBefore = await Promise.all([stalls(host), stalls(viewer)]);
    // The bot sees the new signature once its channel-info cache (15 s) and then its playable cache
    // (8 s here) have run out; the pages ask for it whenever the server says the last one is due.
    await sleep(26_000);
    validTokens.delete('first');
    const withdrawnAt = Date.now();
    await sleep(8_000);
    const late = await open('viewer-2', 'Lou');
    const firstFrame = await waitFor(
      'the late page to show a frame',
      async () => ((await readShownFrames(late, 2)).offsets.length > 0 ? Date.now() : null),
      15_000,
    );
    // Settled: its picture within 100 ms of the host's in three reads in a row.
    let inARow = 0;
    let settledAt = 0;
    while (inARow < 3) {
      const [hostAt, lateAt] = await contentOffsets([host, late]);
      inARow = Math.abs(hostAt! - lateAt!) <= 100 ? inARow + 1 : 0;
      if (inARow === 1) settledAt = Date.now();
      if (Date.now() - firstFrame > 10_000)
        throw new Error(`late page ${Math.round(lateAt! - hostAt!)} ms off after 10 s`);
    }
    expect(settledAt - firstFrame).toBeLessThanOrEqual(2000);
    const all = await spreads([host, viewer, late], 16);
    expect(percentile(all, 95), JSON.stringify(all)).toBeLessThanOrEqual(100);
    expect(Math.max(...all)).toBeLessThanOrEqual(250);
    // Every playlist request since the old signature was withdrawn carried the new one, and was served.
    const refused = media.requests.filter((r) => r.at >= withdrawnAt && r.url.includes('.m3u8') && r.status !== 200);
    expect(refused).toEqual([]);
    expect(media.requests.some((r) => r.url.includes('token=second'))).toBe(true);
    expect(await Promise.all([stalls(host), stalls(viewer)])).toEqual(stallsBefore);
  }, 120_000);

  it('shows how far behind live, goes live again, and a pause the window leaves behind jumps back to live', async () => {
    await host.locator('#back10').click();
    await waitFor('"behind live" on the viewer page', async () => /s behind live$/.test(await text(viewer, '#time')));
    await host.locator('#go-live').click();
    await waitFor('LIVE on the viewer page', async () => (await text(viewer, '#time')) === 'LIVE');
    await host.locator('#play-toggle').click(); // pause
    await waitFor('the party to pause', async () => !(await stack.service.getParty(partyId))!.playback.is_playing);
    // The window (12 s) passes the paused content within a few seconds; the party goes live by itself.
    await waitFor(
      'the viewer page to say the party went back to live',
      async () => /back to live/.test(await text(viewer, '#notice')),
      15_000,
    );
    const playback = (await stack.service.getParty(partyId))!.playback;
    expect(playback).toMatchObject({ is_playing: true, actor_user_id: null });
    await waitFor('LIVE on the host page', async () => (await text(host, '#time')) === 'LIVE');
  }, 60_000);
});

describe('a live party on a playlist without program dates', () => {
  it('lines pages up by media sequence instead, within the same limits', async () => {
    stack.fake.setLive(CREATOR + 1, {
      playback_url: `${undatedMedia.url}/${undated.path}`,
      playback_auth_token: 'open',
    });
    const created = await stack.service.createParty({
      host: { id: 'host', name: 'Host' },
      source: `creator:${CREATOR + 1}`,
    });
    partyId = created.id;
    inviteCode = created.invite_code;
    expect((await stack.service.getParty(partyId))!.queue[0]!.live).toMatchObject({ clock: 'sequence' });
    const host = await open('host', 'Host');
    await stack.service.command(partyId, 'host', { type: 'play' });
    await sleep(4000); // the viewer arrives when the host's page has moved on in the playlist
    const viewer = await open('viewer-3', 'Val');
    await waitFor('the viewer page to show LIVE', async () => (await text(viewer, '#time')) === 'LIVE', 10_000);
    await sleep(3000);
    const settled = await spreads([host, viewer], 8);
    expect(percentile(settled, 95), JSON.stringify(settled)).toBeLessThanOrEqual(100);
    expect(Math.max(...settled)).toBeLessThanOrEqual(250);
  }, 60_000);
});
