// The watch page as a person uses it, in real Chromium: sound and full screen, keyboard shortcuts,
// the host's invite link, the head count, what a stranger sees before joining, accessible names on
// every control, and a phone 320 px wide.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connected,
  launchChromium,
  makeMedia,
  pageLink,
  startMediaServer,
  sleep,
  startPlayerStack,
  waitFor,
  type MediaServer,
  type PlayerStack,
} from './support.js';

let media: MediaServer;
let stack: PlayerStack;
let browser: Browser;
let source = '';
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'page-media-'));
  const clip = await makeMedia(dir, 'big-buck-bunny', { seconds: 60, format: 'hls' });
  // A closed tab counts as gone after 2 s here (20 s by default, for a reload or a flaky network).
  [media, stack, browser] = await Promise.all([
    startMediaServer(dir),
    startPlayerStack({ graceMs: 2000 }),
    launchChromium(),
  ]);
  source = `${media.url}/${clip}`;
}, 60_000);

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await browser?.close();
  await stack?.close();
  await media?.close();
});

/** The type of every message each page sent on its party socket, in order, from the moment it opened. */
const sentByPage = new WeakMap<Page, string[]>();

async function openPage(url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  contexts.push(context);
  const page = await context.newPage();
  const sent: string[] = [];
  sentByPage.set(page, sent);
  page.on('websocket', (socket) =>
    socket.on('framesent', ({ payload }) => sent.push((JSON.parse(String(payload)) as { type: string }).type)),
  );
  await page.goto(url);
  return page;
}

/** The playback commands (play, pause, seek, skip, go-live) a page sent. */
const playbackCommandsSent = (page: Page) =>
  (sentByPage.get(page) ?? []).filter((type) => ['play', 'pause', 'seek', 'skip', 'go-live'].includes(type));

const link = (code: string, token?: string) => pageLink(stack.base, code, token);

async function party(visibility: 'public' | 'private' = 'private') {
  const created = await stack.service.createParty({ host: { id: 'host', name: 'Hana' }, source, visibility });
  const viewerToken = async (id: string) => (await stack.service.issueToken({ id, name: id }, created.id)).token;
  return { ...created, viewerToken };
}

const video = (page: Page) =>
  page.evaluate(() => {
    const v = (globalThis as any).document.querySelector('video');
    return { muted: v.muted as boolean, volume: v.volume as number, paused: v.paused as boolean };
  });

describe('the watch page', () => {
  it('has sound and full-screen controls for everyone, with M and F on the keyboard, and remembers the volume', async () => {
    const p = await party();
    const page = await connected(await openPage(link(p.invite_code, await p.viewerToken('vic'))));
    await page.locator('#mute').click();
    expect(await video(page)).toMatchObject({ muted: true });
    expect(await page.locator('#mute').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('m');
    expect(await video(page)).toMatchObject({ muted: false });
    await page.locator('#volume').fill('0.3');
    expect((await video(page)).volume).toBeCloseTo(0.3);
    await page.reload();
    await connected(page);
    expect((await video(page)).volume).toBeCloseTo(0.3);

    await page.locator('#fullscreen').click();
    await waitFor('full screen', () =>
      page.evaluate(() => (globalThis as any).document.fullscreenElement?.id === 'player'),
    );
    expect(await page.locator('#fullscreen').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('f');
    await waitFor('out of full screen', () =>
      page.evaluate(() => (globalThis as any).document.fullscreenElement === null),
    );
  });

  it('gives hosts Space and the arrows to move the party, and viewers a page those keys do not move', async () => {
    const p = await party();
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    const viewer = await connected(await openPage(link(p.invite_code, await p.viewerToken('vic'))));
    const playback = async () => (await stack.service.getParty(p.id))!.playback;
    await viewer.locator('body').press(' ');
    await viewer.locator('body').press('ArrowRight');
    await viewer.locator('body').press('ArrowLeft');
    // Long enough for a command to reach the server and come back to every page.
    await sleep(1_000);
    // The viewer's page itself keeps those keys to itself: it sends nothing for the server to refuse.
    expect(playbackCommandsSent(viewer)).toEqual([]);
    expect(await playback()).toMatchObject({ is_playing: false, position: 0 });
    for (const page of [host, viewer]) expect(await video(page)).toMatchObject({ paused: true });
    await host.locator('body').press(' ');
    await waitFor('the party to play', async () => (await playback()).is_playing);
    expect(playbackCommandsSent(host)).toEqual(['play']);
    const before = (await playback()).position;
    await host.locator('body').press('ArrowRight');
    await waitFor('a 10 s jump', async () => (await playback()).position >= before + 9);
    await host.locator('body').press(' ');
    await waitFor('the party to pause', async () => !(await playback()).is_playing);
    // Typing in the queue box is typing, not a shortcut.
    await host.locator('#clip-url').press(' ');
    expect((await playback()).is_playing).toBe(false);
  });

  it('lets the host copy the invite link, counts who is there in the header, and titles a URL clip from its path', async () => {
    const p = await party();
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    await host.locator('#copy-invite').click();
    await waitFor(
      'the copied notice',
      async () => (await host.locator('#notice').innerText()) === 'Invite link copied.',
    );
    expect(await host.evaluate(() => (globalThis as any).navigator.clipboard.readText())).toBe(p.invite_url);
    expect(await host.locator('#people').innerText()).toBe('1 watching');
    const viewer = await connected(await openPage(link(p.invite_code, await p.viewerToken('vic'))));
    expect(await viewer.locator('#copy-invite').isVisible()).toBe(false);
    await waitFor('2 watching', async () => (await host.locator('#people').innerText()) === '2 watching');
    expect(await host.locator('#people').getAttribute('aria-label')).toBe('2 people in the party');
    await viewer.context().close();
    await waitFor('1 watching again', async () => (await host.locator('#people').innerText()) === '1 watching', 15_000);
    expect(await host.locator('#now-playing').innerText()).toBe('big buck bunny');
  });

  it("floats anyone's reaction over every page's video, five in a burst per person, and stores none", async () => {
    const p = await party();
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    const viewer = await connected(await openPage(link(p.invite_code, await p.viewerToken('vic'))));
    // Counts the emoji that float up on each page (they leave the page when their animation ends).
    for (const page of [host, viewer]) {
      await page.evaluate(() => {
        const g = globalThis as any;
        g.floated = [];
        new g.MutationObserver((records: any[]) => {
          for (const record of records) for (const node of record.addedNodes) g.floated.push(node.textContent);
        }).observe(g.document.getElementById('reaction-layer'), { childList: true });
      });
    }
    const floated = (page: Page) => page.evaluate(() => (globalThis as any).floated as string[]);
    await viewer.getByRole('button', { name: 'React: Fire' }).click();
    await waitFor('the fire on the host page', async () => (await floated(host)).includes('🔥'));
    expect(await floated(viewer)).toEqual(['🔥']);
    // Nothing about a reaction is kept: the party's state does not move on.
    const before = (await stack.service.getParty(p.id))!.playback.seq;
    // Eight presses in one instant, with the budget full again: five float, the rest are refused, and said so.
    await sleep(1000);
    await viewer.evaluate(() => {
      const button = (globalThis as any).document.querySelector('button[aria-label="React: Thumbs up"]');
      for (let i = 0; i < 8; i++) button.click();
    });
    await waitFor('the refusal', async () => /Easy on the reactions/.test(await viewer.locator('#notice').innerText()));
    await waitFor('five more on the host page', async () => (await floated(host)).length >= 6);
    await sleep(500);
    expect((await floated(host)).filter((emoji) => emoji === '👍')).toHaveLength(5);
    expect((await stack.service.getParty(p.id))!.playback.seq).toBe(before);
  });

  it('shows a stranger on the bare link only the title and how to join, never a connection or sync state', async () => {
    const open = await party('public');
    const page = await openPage(link(open.invite_code));
    await page.locator('#guest-form').waitFor();
    expect(await page.locator('#gate-about').innerText()).toBe('1 watching · now playing big buck bunny');
    for (const hidden of ['#conn-status', '#sync-status', '#people', '#app', '#loading']) {
      expect(await page.locator(hidden).isVisible(), hidden).toBe(false);
    }
    const closed = await party('private');
    const other = await openPage(link(closed.invite_code));
    await other.locator('#gate').waitFor();
    expect(await other.locator('#conn-status').isVisible()).toBe(false);
    expect(await other.locator('#sync-status').isVisible()).toBe(false);
  });

  it('lets the host remove someone from the list of people, in two presses; the page removed says so and stays out', async () => {
    const p = await party('public');
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    const troll = await connected(await openPage(link(p.invite_code, await p.viewerToken('troll'))));
    const friend = await connected(await openPage(link(p.invite_code, await p.viewerToken('friend'))));
    // Viewers are offered no such button.
    expect(await friend.getByRole('button', { name: /^Remove / }).count()).toBe(0);
    const remove = host.getByRole('button', { name: 'Remove troll from the party' });
    await remove.click();
    // One press only arms it: the troll is still there.
    await sleep(500);
    expect((await stack.service.getParty(p.id))!.participants.map((x) => x.user_id)).toContain('troll');
    await host.getByRole('button', { name: 'Confirm: remove troll from the party; they cannot come back' }).click();
    await troll.locator('#gate-text').waitFor();
    expect(await troll.locator('#gate-text').innerText()).toBe('The host removed you from this party.');
    await waitFor(
      'the troll gone from the host’s list',
      async () => !(await host.locator('#participants').innerText()).includes('troll'),
    );
    // Coming back with the same link is no use.
    await troll.reload();
    await troll.locator('#gate-text').waitFor();
    expect(await troll.locator('#gate-text').innerText()).toBe('The host removed you from this party.');
    expect(await friend.locator('#participants').innerText()).not.toContain('troll');
  });

  it('names every control for a screen reader, and fits a 320 px phone without sideways scrolling', async () => {
    const p = await party();
    for (const [who, token] of [
      ['host', p.token],
      ['viewer', await p.viewerToken('lou')],
    ] as const) {
      const page = await connected(await openPage(link(p.invite_code, token), { width: 320, height: 640 }));
      const tree = await page.ariaSnapshot({ boxes: true });
      const controls = tree.split('\n').filter((line) => /- (button|slider|textbox)\b/.test(line));
      expect(controls.length, `${who}: ${tree}`).toBeGreaterThan(who === 'host' ? 8 : 3);
      for (const line of controls) {
        expect(line, `${who}: a control without a name`).toMatch(/- (button|slider|textbox) "[^"]+"/);
        const box = /\[box=(-?[\d.]+),(-?[\d.]+),([\d.]+),([\d.]+)\]/.exec(line);
        expect(box, line).not.toBeNull();
        expect(Number(box![1]) + Number(box![3]), `${who}: ${line}`).toBeLessThanOrEqual(320);
      }
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        320,
      );
    }
  });
});
