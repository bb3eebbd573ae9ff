// Wait for everyone in real headless Chromium: a viewer's player really stalls (its HLS segment
// requests are held back after the host seeks to a part it has not loaded). With the setting the
// host's video stays put and says who it waits for, then both play on together once the segments
// come; without it the host plays on and the viewer catches up.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HOLD_MS } from '../../src/party/room.js';
import {
  expectInSync,
  launchChromium,
  makeMedia,
  sleep,
  startMediaServer,
  startPlayerStack,
  waitFor,
  type PlayerStack,
} from './support.js';

/** As in browser.test.ts: the functional ceiling for one sample on a busy two-core machine. */
const IN_SYNC_MS = 250;
/** Far past what hls.js has buffered a few seconds into the clip (it reads about 30 s ahead). */
const UNLOADED_POSITION = 70;

let stack: PlayerStack;
let media: { url: string; close(): Promise<void> };
let browser: Browser;
let clip: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'player-wait-media-'));
  const name = await makeMedia(dir, 'long', { seconds: 90, format: 'hls' });
  [media, stack, browser] = await Promise.all([startMediaServer(dir), startPlayerStack(), launchChromium()]);
  clip = `${media.url}/${name}`;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await media?.close();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

/** Holds back this page's HLS segment requests while closed; opening lets them all through. */
interface SegmentGate {
  close(): void;
  open(): Promise<void>;
}

interface OpenedPage {
  page: Page;
  /** Every frame the page's socket sent. */
  sent: string[];
  gate: SegmentGate;
}

async function openPlayer(code: string, token: string): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  contexts.push(context);
  let closed = false;
  const held: Route[] = [];
  await context.route(
    (url) => url.origin === media.url && url.pathname.endsWith('.ts'),
    (route) => {
      if (closed) held.push(route);
      else void route.continue();
    },
  );
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  const sent: string[] = [];
  page.on('websocket', (socket) =>
    socket.on('framesent', (frame) => {
      if (typeof frame.payload === 'string') sent.push(frame.payload);
    }),
  );
  await page.goto(`${stack.base}/watch-parties/${code}#token=${encodeURIComponent(token)}`);
  await page.locator('#conn-status[data-state="connected"]').waitFor();
  const gate: SegmentGate = {
    close: () => {
      closed = true;
    },
    async open() {
      closed = false;
      await Promise.all(held.splice(0).map((route) => route.continue().catch(() => undefined)));
    },
  };
  return { page, sent, gate };
}

const videoState = (page: Page) =>
  page.evaluate(() => {
    const v = (globalThis as any).document.querySelector('video') as {
      paused: boolean;
      currentTime: number;
      readyState: number;
    };
    return { paused: v.paused, currentTime: v.currentTime, readyState: v.readyState };
  });

const playback = async (partyId: string) => (await stack.service.getParty(partyId))!.playback;

const expectPlayingInSync = (pages: Page[], partyId: string, label: string) =>
  expectInSync(stack.service, pages, partyId, label, { limitMs: IN_SYNC_MS, timeoutMs: 8000 });

/** A party playing in a host page and a viewer page, both in sync a few seconds in. */
async function playingParty(hostId: string, waitForEveryone: boolean) {
  const created = await stack.service.createParty({
    host: { id: hostId, name: 'Hana' },
    source: clip,
    waitForEveryone,
  });
  const viewerToken = (await stack.service.issueToken({ id: `${hostId}-viewer`, name: 'Vera' }, created.id)).token;
  const host = await openPlayer(created.invite_code, created.token);
  const viewer = await openPlayer(created.invite_code, viewerToken);
  await host.page.locator('#play-toggle').click();
  // The first second of playback is the players landing on the timeline; judge them after it.
  await sleep(1500);
  await expectPlayingInSync([host.page, viewer.page], created.id, 'after play');
  return { partyId: created.id, host, viewer };
}

const bufferingReports = (sent: string[]) =>
  sent
    .filter((frame) => frame.includes('"buffering"'))
    .map((frame) => (JSON.parse(frame) as { buffering: boolean }).buffering);

describe('wait for everyone, in two browsers', () => {
  it("holds the host's video while the viewer's player stalls, says for whom, then both play on together", async () => {
    const { partyId, host, viewer } = await playingParty('wait-host', true);
    viewer.gate.close();
    await host.page.locator('#seek').fill(String(UNLOADED_POSITION));

    // The viewer cannot load the new position: the room stops for her, and the host's page says so.
    await waitFor('the room holding for Vera', async () => {
      const p = await playback(partyId);
      return p.hold && p.waiting_for.some((who) => who.display_name === 'Vera');
    });
    const held = await playback(partyId);
    expect(held.is_playing).toBe(false);
    expect(held.anchor_position).toBeGreaterThanOrEqual(UNLOADED_POSITION);
    expect(held.anchor_position).toBeLessThan(UNLOADED_POSITION + 2);
    await expect.poll(() => host.page.locator('#sync-status').textContent()).toBe('Waiting for Vera…');
    await expect.poll(() => viewer.page.locator('#sync-status').textContent()).toBe('Waiting for you…');
    const shot = join(tmpdir(), 'watch-party-waiting-host.png');
    await host.page.screenshot({ path: shot });
    console.log(`host page while the room waits: ${shot}`);
    // The host's button still pauses: the room means to play.
    expect(await host.page.locator('#play-toggle').textContent()).toBe('Pause');

    // The host's video stays put at the held position.
    await waitFor('the host video paused at the hold', async () => {
      const s = await videoState(host.page);
      return s.paused && Math.abs(s.currentTime - held.anchor_position) < 0.1;
    });
    const before = await videoState(host.page);
    await sleep(1500);
    const after = await videoState(host.page);
    expect(after.paused).toBe(true);
    expect(Math.abs(after.currentTime - before.currentTime)).toBeLessThan(0.05);
    expect((await playback(partyId)).hold).toBe(true);

    // The segments come: the viewer is ready, and the room plays on from where it held, before any cap.
    await viewer.gate.open();
    await waitFor('the room playing again', async () => (await playback(partyId)).is_playing, 6000);
    const resumed = await playback(partyId);
    expect(resumed).toMatchObject({ hold: false, waiting_for: [], anchor_position: held.anchor_position });
    expect(resumed.anchor_server_time_ms - held.anchor_server_time_ms).toBeLessThan(MAX_HOLD_MS);
    await expectPlayingInSync([host.page, viewer.page], partyId, 'after the hold');
    expect((await videoState(host.page)).currentTime).toBeGreaterThan(held.anchor_position);
    expect(await host.page.locator('#sync-status').textContent()).toMatch(/In sync|Syncing/);
    // Where it stood on connecting, then one report each way: no flood. (On a loaded machine the
    // viewer can stall once more right after, which is one more pair at most.)
    const reports = bufferingReports(viewer.sent);
    expect(reports.slice(0, 3)).toEqual([false, true, false]);
    expect(reports.length).toBeLessThanOrEqual(5);
  });

  it('without the setting, the host plays on while the viewer stalls, and the viewer catches up', async () => {
    const { partyId, host, viewer } = await playingParty('nowait-host', false);
    viewer.gate.close();
    await host.page.locator('#seek').fill(String(UNLOADED_POSITION));
    await waitFor(
      'the room at the new position',
      async () => (await playback(partyId)).anchor_position === UNLOADED_POSITION,
    );
    await waitFor('the host playing at the new position', async () => {
      const s = await videoState(host.page);
      return !s.paused && s.currentTime > UNLOADED_POSITION ? s : null;
    });
    const start = await videoState(host.page);
    await sleep(2000);
    const later = await videoState(host.page);
    expect(later.paused).toBe(false);
    expect(later.currentTime - start.currentTime).toBeGreaterThan(1.5);
    expect(await playback(partyId)).toMatchObject({ is_playing: true, hold: false });
    // The viewer really was stuck meanwhile.
    expect((await videoState(viewer.page)).readyState).toBeLessThan(3);

    await viewer.gate.open();
    await expectPlayingInSync([host.page, viewer.page], partyId, 'after the stall');
    expect(bufferingReports(viewer.sent)).toEqual([]);
  });
});
