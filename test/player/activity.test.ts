// The watch party as a Discord Activity in real Chromium: a fake Discord client page opens the
// Activity in an iframe, with the query parameters Discord adds, and speaks the Embedded App SDK's
// postMessage protocol to it (fakeDiscordClient.ts); the page signs in through the party server's
// /api/v1/activity/token, which trades the code at the fake Discord's /oauth2/token. Every request the
// page makes goes through the fake's `/.proxy/…` mappings, built by activityMappings.ts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeDiscord, FakeGuild, FakeUser } from '../support/fakeDiscord.js';
import {
  openActivityFrame,
  startActivityStack,
  type ActivityStack,
  type FakeDiscordClient,
} from './fakeDiscordClient.js';
import {
  expectInSync,
  launchChromium,
  makeMedia,
  startMediaServer,
  waitFor,
  type MediaServer,
  type PlayerStack,
} from './support.js';

/** The same ceiling the browser page's functional checks use (browser.test.ts): one figure for both. */
const IN_SYNC_MS = 250;

let discord: FakeDiscord;
let activity: ActivityStack;
let stack: PlayerStack;
let client: FakeDiscordClient;
let mapped: MediaServer;
let unmapped: MediaServer;
let browser: Browser;
let guild: FakeGuild;
let voiceId: string;
let otherVoiceId: string;
let alice: FakeUser;
let bob: FakeUser;
let carol: FakeUser;
let clip: string;
let strayClip: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'activity-media-'));
  const [hls, mp4] = await Promise.all([
    makeMedia(dir, 'movie', { seconds: 40, format: 'hls' }),
    makeMedia(dir, 'stray', { seconds: 10, format: 'mp4' }),
  ]);
  [mapped, unmapped, browser] = await Promise.all([startMediaServer(dir), startMediaServer(dir), launchChromium()]);
  clip = `${mapped.url}/${hls}`;
  strayClip = `${unmapped.url}/${mp4}`;
  // Only the first media server is mapped: the second stands for a host nobody mapped. A little
  // network in front of the party server, as browser.test.ts gives its delayed pages.
  activity = await startActivityStack({ mediaOrigins: [mapped.url], delay: { delayMs: 20, jitterMs: 10 } });
  ({ discord, stack, client } = activity);
  guild = discord.addGuild({ name: 'Movie night' });
  voiceId = discord.addChannel(guild.id, { name: 'Cinema', type: 2 }).id;
  otherVoiceId = discord.addChannel(guild.id, { name: 'Lounge', type: 2 }).id;
  alice = discord.makeUser({ username: 'alice' });
  bob = discord.makeUser({ username: 'bob' });
  carol = discord.makeUser({ username: 'carol' });
  client.launch({ instanceId: 'instance-one', channelId: voiceId, guildId: guild.id, users: [alice, bob] });
  client.launch({ instanceId: 'instance-two', channelId: otherVoiceId, guildId: guild.id, users: [carol] });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await activity?.close();
  await Promise.all([mapped?.close(), unmapped?.close()]);
});

async function openActivity(
  user: FakeUser,
  instanceId: string,
  options: { code?: string; viewport?: { width: number; height: number }; platform?: 'mobile' } = {},
): Promise<{ page: Page; frame: Frame }> {
  const opened = await openActivityFrame(browser, client, user, instanceId, options);
  contexts.push(opened.context);
  return opened;
}

const text = (frame: Frame, selector: string): Promise<string> =>
  frame.evaluate((s) => {
    const element = (globalThis as any).document.querySelector(s);
    return element && !element.hidden && !element.closest('[hidden]') ? String(element.textContent) : '';
  }, selector);

async function partyOf(userId: string): Promise<string> {
  const exchanges = client.proxied.filter((r) => r.path.includes('/watch-parties/') && r.path.includes('/ws'));
  expect(exchanges.length).toBeGreaterThan(0);
  for (const { path } of exchanges) {
    const id = /watch-parties\/([^/]+)\/ws/.exec(path)?.[1];
    const detail = id ? await stack.service.getParty(id) : null;
    if (detail?.participants.some((p) => p.user_id === userId)) return detail.id;
  }
  throw new Error(`no party for ${userId}`);
}

describe('the Activity in a fake Discord client', () => {
  let aliceFrame: Frame;
  let bobFrame: Frame;
  let partyId: string;

  it('puts two frames of one instance in one party, the launcher hosting, and plays in sync', async () => {
    ({ frame: aliceFrame } = await openActivity(alice, 'instance-one'));
    await waitFor('alice in the party', () => text(aliceFrame, '#conn-status').then((t) => t === 'Connected'), 15_000);
    ({ frame: bobFrame } = await openActivity(bob, 'instance-one'));
    await waitFor('bob in the party', () => text(bobFrame, '#conn-status').then((t) => t === 'Connected'), 15_000);
    partyId = await partyOf(alice.id);
    expect(await partyOf(bob.id)).toBe(partyId);
    // No second login, no invite code: both are in, alice as the host who launched it.
    const detail = (await stack.service.getParty(partyId))!;
    expect(detail.participants.map((p) => [p.user.display_name, p.role]).sort()).toEqual([
      ['alice', 'host'],
      ['bob', 'viewer'],
    ]);
    expect(await text(aliceFrame, '#play-toggle')).toBe('Play');
    expect(await text(bobFrame, '#play-toggle')).toBe('');

    await stack.service.addClip(partyId, alice.id, clip, 'Movie');
    await waitFor('the clip in bob’s queue', () => text(bobFrame, '#queue').then((t) => t.includes('Movie')));
    await aliceFrame.click('#play-toggle');
    await expectInSync(stack.service, [aliceFrame as unknown as Page, bobFrame as unknown as Page], partyId, 'play', {
      limitMs: IN_SYNC_MS,
      timeoutMs: 15_000,
    });
    // Every request went through a mapping, the media too.
    expect(client.proxied.filter((r) => r.target === null)).toEqual([]);
    expect(client.proxied.some((r) => r.path.startsWith('/.proxy/media/') && r.path.includes('movie'))).toBe(true);
  }, 60_000);

  it('shows who is in the call, and sets the rich presence', async () => {
    await waitFor('the call list', () => text(bobFrame, '#in-call').then((t) => t === 'In the call: alice, bob'));
    client.setParticipants('instance-one', [alice]);
    await waitFor('bob gone from the call', () => text(aliceFrame, '#in-call').then((t) => t === 'In the call: alice'));
    const presence = client.commands.filter((c) => c.cmd === 'SET_ACTIVITY' && c.userId === bob.id).at(-1);
    expect(presence?.args.activity).toEqual({ type: 3, details: "Watching alice's watch party · 2 watching" });
    client.setParticipants('instance-one', [alice, bob]);
  });

  it('puts a frame of another instance in another party', async () => {
    const { frame } = await openActivity(carol, 'instance-two');
    await waitFor('carol’s party', () => text(frame, '#title').then((t) => t === "carol's watch party"), 15_000);
    expect(await partyOf(carol.id)).not.toBe(partyId);
    // She launched that one: she hosts it.
    await waitFor('carol’s controls', () => text(frame, '#play-toggle').then((t) => t === 'Play'));
  });

  it('refuses a forged code and a code used before, and says so', async () => {
    const forged = await openActivity(bob, 'instance-one', { code: 'made-up-by-someone' });
    await waitFor('the refusal', () =>
      text(forged.frame, '#gate-text').then((t) => t.startsWith('Discord did not accept this sign-in')),
    );
    const used = discord.oauthExchanges.find((e) => e.accepted)!.code;
    const reused = await openActivity(bob, 'instance-one', { code: used });
    await waitFor('the refusal', () =>
      text(reused.frame, '#gate-text').then((t) => t.startsWith('Discord did not accept this sign-in')),
    );
    expect(discord.oauthExchanges.filter((e) => e.code === used).map((e) => e.accepted)).toEqual([true, false]);
  });

  it('refuses a clip from a host with no mapping with the documented message, and never asks it', async () => {
    await stack.service.addClip(partyId, alice.id, strayClip, 'Stray');
    await stack.service.command(partyId, alice.id, { type: 'skip' });
    const host = new URL(unmapped.url).host;
    await waitFor('the refusal', () =>
      text(bobFrame, '#notice').then((t) =>
        t.startsWith(`This clip comes from ${host}, which the Activity cannot reach`),
      ),
    );
    expect(unmapped.requests).toEqual([]);
  });

  it('fits a phone’s landscape frame: the whole picture within its height', async () => {
    const { frame } = await openActivity(bob, 'instance-one', {
      viewport: { width: 844, height: 390 },
      platform: 'mobile',
    });
    await waitFor('connected', () => text(frame, '#conn-status').then((t) => t === 'Connected'), 15_000);
    const fit = await frame.evaluate(() => {
      const doc = (globalThis as any).document;
      const video = doc.querySelector('.video-wrap').getBoundingClientRect();
      return { bottom: video.bottom, height: video.height, viewport: doc.documentElement.clientHeight };
    });
    expect(fit.bottom).toBeLessThanOrEqual(fit.viewport);
    expect(fit.height).toBeGreaterThan(250);
  });

  it('fits a phone’s portrait frame', async () => {
    const { frame } = await openActivity(bob, 'instance-one', {
      viewport: { width: 390, height: 760 },
      platform: 'mobile',
    });
    await waitFor('connected', () => text(frame, '#conn-status').then((t) => t === 'Connected'), 15_000);
    const fit = await frame.evaluate(() => {
      const doc = (globalThis as any).document;
      const video = doc.querySelector('video').getBoundingClientRect();
      return { scroll: doc.documentElement.scrollWidth, width: doc.documentElement.clientWidth, video: video.width };
    });
    expect(fit.scroll).toBeLessThanOrEqual(fit.width);
    expect(fit.video).toBeGreaterThan(300);
  });
});
