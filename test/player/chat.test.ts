// The party chat on the watch page, in real Chromium against the real party server: a message typed
// on one page shows on the other with who is typing before it, deletes reach every page, the budget
// and the party's chat setting are said next to the box, what people type stays text (links open
// apart from the page), the "n new" marker, the overlay in full screen, and how it looks on a laptop
// and a phone (screenshots printed for people to look at).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connected,
  launchChromium,
  makeMedia,
  pageLink,
  startMediaServer,
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
  const dir = mkdtempSync(join(tmpdir(), 'chat-media-'));
  const clip = await makeMedia(dir, 'big-buck-bunny', { seconds: 60, format: 'hls' });
  [media, stack, browser] = await Promise.all([startMediaServer(dir), startPlayerStack(), launchChromium()]);
  source = `${media.url}/${clip}`;
}, 60_000);

// Each test's pages close after it: a dozen playing pages left open would slow the later tests down.
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await media?.close();
});

/** What one page did, seen on another: a socket round trip through the server, slow on a busy machine. */
const eventually = <T>(probe: () => T | Promise<T>) => expect.poll(probe, { timeout: 5000 });

const RATE_LIMITED = 'Slow down: you can send another message in a moment.';
const MEMBERS_ONLY = 'Only members can write in this chat; guests can read along.';

async function openPage(url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({
    viewport,
    isMobile: viewport.width < 500,
    hasTouch: viewport.width < 500,
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

const link = (code: string, token?: string) => pageLink(stack.base, code, token);

async function party(options: { visibility?: 'public' | 'private'; chat?: 'everyone' | 'members' | 'off' } = {}) {
  const created = await stack.service.createParty({
    host: { id: 'host', name: 'Hana' },
    source,
    title: 'Friday movie night',
    visibility: options.visibility ?? 'private',
    ...(options.chat && { chat: options.chat }),
  });
  const viewerToken = async (id: string, name = id) => (await stack.service.issueToken({ id, name }, created.id)).token;
  return { ...created, viewerToken };
}

/** Types into the chat box like a person and presses Enter. */
async function say(page: Page, text: string): Promise<void> {
  await page.locator('#chat-input').fill(text);
  await page.locator('#chat-input').press('Enter');
}

const messages = (page: Page) => page.locator('#chat-log .chat-text').allTextContents();

/** Two members of one private party on their own pages: the host Hana and the viewer Vic. */
async function twoMembers(options: { chat?: 'everyone' | 'members' | 'off' } = {}) {
  const p = await party(options);
  const [host, viewer] = await Promise.all([
    openPage(link(p.invite_code, p.token)).then(connected),
    openPage(link(p.invite_code, await p.viewerToken('vic', 'Vic'))).then(connected),
  ]);
  return { p, host, viewer };
}

describe('the chat panel', () => {
  it('shows a message typed on one page on the other, with who wrote it and who is typing before it', async () => {
    const { host, viewer } = await twoMembers();
    await viewer.locator('#chat-input').click();
    await viewer.keyboard.type('hello', { delay: 30 });
    await eventually(() => host.locator('#chat-typing').textContent()).toBe('Vic is typing…');
    await viewer.keyboard.type(' everyone');
    await viewer.keyboard.press('Enter');
    await eventually(() => messages(host)).toEqual(['hello everyone']);
    expect(await host.locator('#chat-log .chat-name').allTextContents()).toEqual(['Vic']);
    expect(await host.locator('#chat-log time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The message ends the typing line at once, and the sender's box is empty for the next.
    expect(await host.locator('#chat-typing').textContent()).toBe('');
    expect(await messages(viewer)).toEqual(['hello everyone']);
    expect(await viewer.locator('#chat-input').inputValue()).toBe('');
    // The list is a polite live region, and the box and its button have names.
    expect(await host.locator('#chat-log').getAttribute('role')).toBe('log');
    expect(await host.locator('#chat-log').getAttribute('aria-live')).toBe('polite');
    expect(await host.getByRole('textbox', { name: 'Chat message' }).count()).toBe(1);
    expect(await host.getByRole('button', { name: 'Send' }).count()).toBe(1);
    // A reload gets the history back.
    await host.reload();
    await connected(host);
    await eventually(() => messages(host)).toEqual(['hello everyone']);
  });

  it('says it is typing at most every 3 s, and the others’ line ends 6 s after the last', async () => {
    const { host, viewer } = await twoMembers();
    const typingSent: boolean[] = [];
    viewer.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        const frame = JSON.parse(String(payload)) as { type: string; is_typing?: boolean };
        if (frame.type === 'typing') typingSent.push(frame.is_typing === true);
      }),
    );
    await viewer.reload();
    await connected(viewer);
    await viewer.locator('#chat-input').click();
    // Four seconds of steady typing: one "typing" at the start, one more 3 s on.
    const started = Date.now();
    while (Date.now() - started < 4000) await viewer.keyboard.type('a', { delay: 100 });
    expect(typingSent).toEqual([true, true]);
    await eventually(() => host.locator('#chat-typing').textContent()).toBe('Vic is typing…');
    // Stopped, box still full and focused: nothing more is sent, and the line goes after 6 s.
    await waitFor(
      'the typing line to expire',
      async () => (await host.locator('#chat-typing').textContent()) === '',
      9000,
    );
    expect(typingSent).toEqual([true, true]);
    // Leaving the box says it at once.
    await viewer.locator('#chat-input').blur();
    await eventually(() => typingSent).toEqual([true, true, false]);
  });

  it('removes a deleted message from every page; a viewer may delete only their own', async () => {
    const { host, viewer } = await twoMembers();
    await say(viewer, 'a message Vic regrets');
    await say(host, 'the host speaks');
    await say(viewer, 'Vic again');
    await eventually(() => messages(host)).toEqual(['a message Vic regrets', 'the host speaks', 'Vic again']);
    await eventually(() => messages(viewer)).toHaveLength(3);
    // Vic is offered a delete on his two messages only; the host on all three.
    expect(await viewer.locator('.chat-delete').count()).toBe(2);
    expect(await host.locator('.chat-delete').count()).toBe(3);
    await viewer.getByRole('button', { name: 'Delete this message from Vic' }).first().click();
    await eventually(() => messages(host)).toEqual(['the host speaks', 'Vic again']);
    await eventually(() => messages(viewer)).toEqual(['the host speaks', 'Vic again']);
    await host.getByRole('button', { name: 'Delete this message from Vic' }).click();
    await eventually(() => messages(viewer)).toEqual(['the host speaks']);
    await eventually(() => messages(host)).toEqual(['the host speaks']);
  });

  it('tells a viewer over the budget to slow down, next to the box, and keeps what they typed', async () => {
    const { host, viewer } = await twoMembers();
    // Eight Enters at once: the budget lets five through.
    await viewer.evaluate(() => {
      const doc = (globalThis as any).document;
      for (let i = 1; i <= 8; i += 1) {
        doc.querySelector('#chat-input').value = `message ${i}`;
        doc.querySelector('#chat-form').requestSubmit();
      }
    });
    await eventually(() => viewer.locator('#chat-status').textContent()).toBe(RATE_LIMITED);
    expect(await viewer.locator('#chat-status').getAttribute('role')).toBe('status');
    await eventually(() => messages(host)).toEqual(['message 1', 'message 2', 'message 3', 'message 4', 'message 5']);
    expect(await viewer.locator('#chat-input').inputValue()).toBe('message 8');
    // A moment later the same Enter goes through.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await viewer.locator('#chat-input').press('Enter');
    await eventually(() => messages(host)).toContain('message 8');
  });

  it('keeps a guest silent when the chat is for members: the box is closed with the reason, a forced send is refused', async () => {
    const p = await party({ visibility: 'public', chat: 'members' });
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    await say(host, 'members only tonight');
    const guest = await openPage(link(p.invite_code));
    await guest.locator('#guest-name').fill('Gus');
    await guest.locator('#guest-form button').click();
    await connected(guest);
    await eventually(() => messages(guest)).toEqual(['members only tonight']);
    expect(await guest.locator('#chat-input').isDisabled()).toBe(true);
    expect(await guest.locator('#chat-form button').isDisabled()).toBe(true);
    expect(await guest.locator('#chat-reason').textContent()).toBe(MEMBERS_ONLY);
    expect(await guest.locator('#chat-reason').isVisible()).toBe(true);
    // Around the closed box (a page someone edited): the server refuses, and the page says why.
    await guest.evaluate(() => {
      const doc = (globalThis as any).document;
      doc.querySelector('#chat-input').disabled = false;
      doc.querySelector('#chat-input').value = 'let me in';
      doc.querySelector('#chat-form').requestSubmit();
    });
    await eventually(() => guest.locator('#chat-status').textContent()).toBe(MEMBERS_ONLY);
    expect(await messages(host)).toEqual(['members only tonight']);
    // The host opens the chat to everyone: the guest's box opens at once.
    await stack.service.setChat(p.id, 'host', 'everyone');
    await eventually(() => guest.locator('#chat-input').isDisabled()).toBe(false);
    expect(await guest.locator('#chat-reason').isVisible()).toBe(false);
    await say(guest, 'thanks');
    await eventually(() => messages(host)).toEqual(['members only tonight', 'thanks']);
  });

  it('makes a link clickable, opening apart from the page, and shows typed HTML as text', async () => {
    const { host, viewer } = await twoMembers();
    await say(viewer, 'see https://example.com/wiki/Film_(1999). <b>x</b> <img src=x onerror=alert(1)>');
    await eventually(() => host.locator('#chat-log .chat-text').count()).toBe(1);
    const anchor = host.locator('#chat-log .chat-text a');
    expect(await anchor.count()).toBe(1);
    expect(await anchor.getAttribute('href')).toBe('https://example.com/wiki/Film_(1999)');
    expect(await anchor.getAttribute('rel')).toBe('noopener noreferrer nofollow ugc');
    expect(await anchor.getAttribute('target')).toBe('_blank');
    expect(await anchor.textContent()).toBe('https://example.com/wiki/Film_(1999)');
    expect(await messages(host)).toEqual([
      'see https://example.com/wiki/Film_(1999). <b>x</b> <img src=x onerror=alert(1)>',
    ]);
    expect(await host.locator('#chat-log b, #chat-log img').count()).toBe(0);
  });

  it('counts new messages below while scrolled up, and the marker brings the list to the latest', async () => {
    const p = await party();
    for (const name of ['Ann', 'Bo', 'Cy']) await stack.service.joinByCode(p.invite_code, { id: name, name });
    for (let i = 1; i <= 5; i += 1) {
      for (const who of ['Ann', 'Bo', 'Cy']) await stack.service.postChat(p.id, who, `${who} says ${i}`);
    }
    const host = await connected(await openPage(link(p.invite_code, p.token)));
    await eventually(() => host.locator('#chat-log li').count()).toBe(15);
    const scroll = () =>
      host.locator('#chat-log').evaluate((log) => ({
        top: log.scrollTop,
        end: log.scrollHeight - log.clientHeight,
      }));
    // It opens at the latest.
    const opened = await scroll();
    expect(opened.end).toBeGreaterThan(0);
    expect(opened.top).toBeGreaterThanOrEqual(opened.end - 2);
    await host.locator('#chat-log').evaluate((log) => (log.scrollTop = 0));
    await stack.service.postChat(p.id, 'Ann', 'one below');
    await stack.service.postChat(p.id, 'Bo', 'two below');
    await eventually(() => host.locator('#chat-new').textContent()).toBe('2 new');
    expect((await scroll()).top).toBe(0);
    await host.locator('#chat-new').click();
    const after = await scroll();
    expect(after.top).toBeGreaterThanOrEqual(after.end - 2);
    expect(await host.locator('#chat-new').isVisible()).toBe(false);
  });

  it('lies over the picture in full screen, and the chat button hides and shows it', async () => {
    const { host } = await twoMembers();
    await say(host, 'full screen tonight');
    await host.locator('#fullscreen').click();
    await waitFor('full screen', () =>
      host.evaluate(() => (globalThis as any).document.fullscreenElement?.id === 'player'),
    );
    await eventually(() => host.locator('#video-wrap #chat.overlay').isVisible()).toBe(true);
    expect(await host.locator('#chat-toggle').isVisible()).toBe(true);
    await host.locator('#chat-toggle').click();
    expect(await host.locator('#chat').isVisible()).toBe(false);
    expect(await host.locator('#chat-toggle').getAttribute('aria-pressed')).toBe('false');
    await host.locator('#chat-toggle').click();
    expect(await host.locator('#chat').isVisible()).toBe(true);
    // Typing a message there is for the box, not the keyboard shortcuts (F would leave full screen).
    await say(host, 'fine');
    await eventually(() => messages(host)).toEqual(['full screen tonight', 'fine']);
    expect(await host.evaluate(() => (globalThis as any).document.fullscreenElement?.id)).toBe('player');
    const shot = join(tmpdir(), 'watch-party-chat-fullscreen-1280x800.png');
    await host.screenshot({ path: shot });
    console.log(`chat over the picture in full screen: ${shot}`);
    await host.locator('#fullscreen').click();
    await waitFor('out of full screen', () =>
      host.evaluate(() => (globalThis as any).document.fullscreenElement === null),
    );
    await eventually(() => host.locator('#side > #chat:not(.overlay)').isVisible()).toBe(true);
  });

  it('looks right beside the video on a laptop and below it on a phone (screenshots)', async () => {
    const p = await party();
    for (const [id, name] of [
      ['vic', 'Vic'],
      ['lou', 'Lou'],
    ] as const)
      await stack.service.joinByCode(p.invite_code, { id, name });
    const vicToken = await p.viewerToken('vic', 'Vic');
    const lines: Array<[string, string]> = [
      ['host', 'Welcome everyone! Starting in a minute.'],
      ['vic', 'Popcorn ready 🍿'],
      ['lou', 'The director talks about this scene here: https://example.com/interview'],
      ['host', 'Nice find, thanks Lou'],
      ['vic', 'Can we watch the sequel next week?'],
    ];
    for (const [who, text] of lines) await stack.service.postChat(p.id, who, text);
    const laptop = await connected(await openPage(link(p.invite_code, p.token)));
    const phone = await connected(await openPage(link(p.invite_code, vicToken), { width: 390, height: 844 }));
    await stack.service.command(p.id, 'host', { type: 'play' });
    await laptop.locator('#chat-input').click();
    await laptop.keyboard.type('Same here', { delay: 20 });
    await eventually(() => phone.locator('#chat-typing').textContent()).toBe('Hana is typing…');
    // Laptop: the chat beside the video, its top level with the picture's.
    const videoBox = (await laptop.locator('#video-wrap').boundingBox())!;
    const chatBox = (await laptop.locator('#chat').boundingBox())!;
    expect(chatBox.x).toBeGreaterThanOrEqual(videoBox.x + videoBox.width);
    expect(Math.abs(chatBox.y - videoBox.y)).toBeLessThan(4);
    // Phone: below the video, as wide as the page allows, and nothing scrolls sideways.
    const phoneVideo = (await phone.locator('#video-wrap').boundingBox())!;
    const phoneChat = (await phone.locator('#chat').boundingBox())!;
    expect(phoneChat.y).toBeGreaterThan(phoneVideo.y + phoneVideo.height);
    expect(phoneChat.width).toBeGreaterThan(340);
    expect(await phone.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    const shots = {
      laptop: join(tmpdir(), 'watch-party-chat-1280x800.png'),
      phone: join(tmpdir(), 'watch-party-chat-390x844.png'),
    };
    await laptop.screenshot({ path: shots.laptop });
    await phone.screenshot({ path: shots.phone, fullPage: true });
    console.log(`chat on a laptop: ${shots.laptop}\nchat on a phone: ${shots.phone}`);
  });
});
