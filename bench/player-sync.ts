// Measures how closely the web player keeps a party together, in real headless Chromium, in three
// settings, and prints a Markdown section for BENCHMARKS.md (`npm run bench:player`):
//  1. a recording on a clean loopback: a host page and three viewer pages, all direct;
//  2. the same with 50–150 ms of network delay (uniform) on the viewers' sockets and API calls, and
//     one viewer whose clock is 2 s fast, and one inside a fake Discord client as the Activity (its
//     /.proxy then the same delay); then convergence after host seeks and after a late join;
//  3. a live stream made by ffmpeg in real time: a host and a viewer, and a second viewer 30 s later,
//     measured by the frame number burned into the picture.
// Recording drift is measured from outside the pages (their clock reading with the skew taken out,
// against the server's timeline), every 250 ms; live spread from the frames the pages show.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  launchChromium,
  makeMedia,
  playerStats,
  readShownFrames,
  sampleDrift,
  skewClock,
  sleep,
  startLiveStream,
  startMediaServer,
  startPlayerStack,
  type PlayerStack,
} from '../test/player/support.js';
import { openActivityFrame, startActivityStack } from '../test/player/fakeDiscordClient.js';

const STEADY_SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SAMPLE_MS = 250;
const JITTER = { delayMs: 100, jitterMs: 50 };
const SKEW_MS = 2000;
const CONVERGED_MS = 100;
/** Converged means within CONVERGED_MS and staying there this long. */
const HOLD_MS = 1000;
const LIVE_LATE_JOIN_S = 30;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}
const ms = (value: number) => `${Math.round(value)} ms`;
const spread = (values: number[]) =>
  `${ms(percentile(values, 50))} | ${ms(percentile(values, 95))} | ${ms(Math.max(...values))}`;

interface Member {
  name: string;
  page: Page;
  skewMs: number;
}

async function partyWith(stack: PlayerStack, browser: Browser, source: string, title: string) {
  const created = await stack.service.createParty({ host: { id: 'host', name: 'Host' }, source, title });
  const contexts: BrowserContext[] = [];
  const open = async (base: string, userId: string, skewMs = 0): Promise<Page> => {
    const token = (await stack.service.issueToken({ id: userId, name: userId }, created.id)).token;
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    contexts.push(context);
    const page = await context.newPage();
    // A page's own errors go to stderr: a page that fails shows up in the table, this says why.
    page.on('pageerror', (error) => console.error(`[${userId}] page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') console.error(`[${userId}] ${message.text()}`);
    });
    if (skewMs) await skewClock(page, skewMs);
    await page.goto(`${base}/watch-parties/${created.invite_code}#token=${encodeURIComponent(token)}`);
    await page.locator('#conn-status[data-state="connected"]').waitFor();
    return page;
  };
  /** Closes every page, before their server goes (a page left open would only retry, and load the cores). */
  const close = () => Promise.all(contexts.map((context) => context.close()));
  return { id: created.id, open, close };
}

/** Steady state of a recording party: |drift| per page, the rate range, and seeks, over STEADY_SECONDS. */
async function steadyState(stack: PlayerStack, partyId: string, members: Member[]): Promise<string[]> {
  const before = await Promise.all(members.map((m) => playerStats(m.page)));
  const drifts = members.map(() => [] as number[]);
  const rates = members.map(() => [] as number[]);
  const started = Date.now();
  for (let next = started; next < started + STEADY_SECONDS * 1000; next += SAMPLE_MS) {
    await sleep(Math.max(0, next - Date.now()));
    const samples = await Promise.all(members.map((m) => sampleDrift(m.page, stack.service, partyId, m.skewMs)));
    samples.forEach((s, i) => drifts[i]!.push(Math.abs(s.driftMs)));
    const pageRates = await Promise.all(
      members.map((m) =>
        m.page.evaluate(() => (globalThis as any).document.querySelector('video').playbackRate as number),
      ),
    );
    pageRates.forEach((rate, i) => rates[i]!.push(rate));
  }
  const after = await Promise.all(members.map((m) => playerStats(m.page)));
  const rows = members.map((m, i) => {
    const lo = (Math.min(...rates[i]!) - 1) * 100;
    const hi = (Math.max(...rates[i]!) - 1) * 100;
    const stats = after[i]!;
    return `| ${m.name} | ${drifts[i]!.length} | ${spread(drifts[i]!)} | ${lo.toFixed(1)} % … +${hi.toFixed(1)} % | ${stats.seeks - before[i]!.seeks} | ${Math.round(stats.rttMs)} ms / ${Math.round(stats.offsetMs)} ms |`;
  });
  const all = drifts.flat();
  rows.push(`| **every page** | ${all.length} | ${spread(all)} | | | |`);
  return rows;
}

async function recordings(browser: Browser, clip: string, mediaUrl: string): Promise<string[]> {
  const lines: string[] = [];
  // 1. Clean loopback.
  {
    const stack = await startPlayerStack();
    try {
      const party = await partyWith(stack, browser, `${mediaUrl}/${clip}`, 'Clean');
      const members: Member[] = [{ name: 'host', page: await party.open(stack.base, 'host'), skewMs: 0 }];
      for (const name of ['viewer 1', 'viewer 2', 'viewer 3']) {
        members.push({ name, page: await party.open(stack.base, name), skewMs: 0 });
      }
      await members[0]!.page.locator('#play-toggle').click();
      await sleep(5000); // warm-up: first load, first clock samples, the join seeks
      lines.push(
        '### Recording, clean loopback',
        '',
        '| page | samples | p50 abs(drift) | p95 | max | rate range | seeks in steady state | clock rtt / offset |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...(await steadyState(stack, party.id, members)),
        '',
      );
      await party.close();
    } finally {
      await stack.close();
    }
  }
  // 2. Jitter and a skewed clock, then seeks and a late join. The party server has the Discord
  // Activity on: one more viewer watches inside a fake Discord client, through its /.proxy and the
  // same delay (Discord's proxy is a hop of its own in front of the bot).
  const activity = await startActivityStack({ mediaOrigins: [mediaUrl], delay: JITTER });
  const { stack, delay: proxy } = activity;
  let closePages: () => Promise<unknown> = () => Promise.resolve();
  try {
    const party = await partyWith(stack, browser, `${mediaUrl}/${clip}`, 'Jitter');
    let activityContext: BrowserContext | undefined;
    closePages = () => Promise.all([party.close(), activityContext?.close()]);
    const activityViewer = async (): Promise<Page> => {
      const { discord, client } = activity;
      const guild = discord.addGuild({ name: 'Bench' });
      const voiceId = discord.addChannel(guild.id, { name: 'Cinema', type: 2 }).id;
      const member = discord.makeUser({ username: 'v4' });
      client.launch({ instanceId: 'bench', channelId: voiceId, guildId: guild.id, users: [member] });
      await activity.bindChannel(voiceId, party.id);
      const opened = await openActivityFrame(browser, client, member, 'bench', {
        viewport: { width: 800, height: 600 },
      });
      activityContext = opened.context;
      await opened.frame.locator('#conn-status[data-state="connected"]').waitFor();
      // A frame reads the element as a page does (evaluate): the drift sampler needs nothing more.
      return opened.frame as unknown as Page;
    };
    const host: Member = { name: 'host (direct)', page: await party.open(stack.base, 'host'), skewMs: 0 };
    const viewers: Member[] = [
      { name: 'viewer 1 (delayed)', page: await party.open(proxy.url, 'v1'), skewMs: 0 },
      { name: 'viewer 2 (delayed)', page: await party.open(proxy.url, 'v2'), skewMs: 0 },
      {
        name: `viewer 3 (delayed, clock +${SKEW_MS / 1000} s)`,
        page: await party.open(proxy.url, 'v3', SKEW_MS),
        skewMs: SKEW_MS,
      },
      { name: 'viewer 4 (Activity: Discord client, /.proxy, delayed)', page: await activityViewer(), skewMs: 0 },
    ];
    await host.page.locator('#play-toggle').click();
    await sleep(5000);
    lines.push(
      `### Recording, ${JITTER.delayMs - JITTER.jitterMs}–${JITTER.delayMs + JITTER.jitterMs} ms delay each way, one clock ${SKEW_MS / 1000} s off`,
      '',
      '| page | samples | p50 abs(drift) | p95 | max | rate range | seeks in steady state | clock rtt / offset |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...(await steadyState(stack, party.id, [host, ...viewers])),
      '',
    );

    let firstPlayingAt: number | null = null;
    const converge = async (members: Member[], from: number): Promise<number> => {
      let since: number | null = null;
      firstPlayingAt = null;
      for (;;) {
        const samples = await Promise.all(members.map((m) => sampleDrift(m.page, stack.service, party.id, m.skewMs)));
        const now = Date.now();
        if (firstPlayingAt === null && samples.every((s) => !s.paused)) firstPlayingAt = now;
        if (samples.every((s) => Math.abs(s.driftMs) <= CONVERGED_MS)) {
          since ??= now;
          if (now - since >= HOLD_MS) return since - from;
        } else since = null;
        if (now - from > 15_000) return Number.POSITIVE_INFINITY;
        await sleep(50);
      }
    };
    const seekTimes: number[] = [];
    for (const target of [20, 8, STEADY_SECONDS + 40]) {
      const at = Date.now();
      await stack.service.command(party.id, 'host', { type: 'seek', position: target });
      seekTimes.push(await converge(viewers, at));
      await sleep(1500);
    }
    const lateAt = Date.now();
    const late: Member = { name: 'late', page: await party.open(proxy.url, 'late', -SKEW_MS), skewMs: -SKEW_MS };
    const lateJoin = await converge([late], lateAt);
    const lateFromPlaying = firstPlayingAt === null ? NaN : lateAt + lateJoin - firstPlayingAt;
    lines.push(
      `Convergence (every viewer within ${CONVERGED_MS} ms and staying there ${HOLD_MS / 1000} s; time from the server applying the change):`,
      '',
      '| event | converged after |',
      '| --- | --- |',
      `| host seek to 20 s | ${ms(seekTimes[0]!)} |`,
      `| host seek back to 8 s | ${ms(seekTimes[1]!)} |`,
      `| host seek to ${STEADY_SECONDS + 40} s (unbuffered) | ${ms(seekTimes[2]!)} |`,
      `| late joiner (delayed, clock −${SKEW_MS / 1000} s), from opening the page | ${ms(lateJoin)} |`,
      `| late joiner, from its video first playing | ${ms(Math.max(0, lateFromPlaying))} |`,
      '',
    );
  } finally {
    await closePages();
    await activity.close();
  }
  return lines;
}

/** Content spread of a live party, from the frame numbers the pages show. */
async function live(browser: Browser, dir: string): Promise<string[]> {
  const media = await startMediaServer(dir);
  const stream = await startLiveStream(dir, 'live', { minSegments: 6 });
  const stack = await startPlayerStack();
  let closePages: () => Promise<unknown> = () => Promise.resolve();
  try {
    stack.fake.setLive(567503, { playback_url: `${media.url}/${stream.path}`, playback_auth_token: 'bench' });
    const party = await partyWith(stack, browser, 'creator:567503', 'Live');
    closePages = party.close;
    const host = await party.open(stack.base, 'host');
    const viewer = await party.open(stack.base, 'viewer');
    await host.locator('#play-toggle').click();
    const openedAt = Date.now();
    await sleep(5000);
    const offsets = async (pages: Page[]) =>
      (await Promise.all(pages.map((page) => readShownFrames(page, 8)))).map((read) => {
        const sorted = [...read.offsets].sort((a, b) => a - b);
        return (sorted[Math.floor(sorted.length / 2)] ?? NaN) * 1000;
      });
    const sample = async (pages: Page[], until: number) => {
      const spreads: number[] = [];
      while (Date.now() < until) {
        const o = await offsets(pages);
        spreads.push(Math.max(...o) - Math.min(...o));
        await sleep(250);
      }
      return spreads;
    };
    const two = await sample([host, viewer], openedAt + LIVE_LATE_JOIN_S * 1000);
    const late = await party.open(stack.base, 'late');
    const lateOpened = Date.now();
    let firstFrame: number | null = null;
    let settled: number | null = null;
    let inARow = 0;
    while (settled === null && Date.now() - lateOpened < 20_000) {
      const [h, l] = await offsets([host, late]);
      if (Number.isFinite(l)) firstFrame ??= Date.now();
      inARow = Number.isFinite(l) && Math.abs(h! - l!) <= CONVERGED_MS ? inARow + 1 : 0;
      if (inARow === 3) settled = Date.now();
    }
    const three = await sample([host, viewer, late], Date.now() + STEADY_SECONDS * 500);
    return [
      '### Live stream, clean loopback, measured from the picture',
      '',
      '| pages | samples | p50 spread | p95 | max |',
      '| --- | --- | --- | --- | --- |',
      `| host + viewer, first ${LIVE_LATE_JOIN_S} s | ${two.length} | ${spread(two)} |`,
      `| host + viewer + viewer who joined ${LIVE_LATE_JOIN_S} s later, once settled | ${three.length} | ${spread(three)} |`,
      '',
      `The late joiner showed its first frame ${ms((firstFrame ?? NaN) - lateOpened)} after its page opened and was within ${CONVERGED_MS} ms of the host (three reads in a row) ${settled === null || firstFrame === null ? 'never' : ms(settled - firstFrame)} after that.`,
      '',
    ];
  } finally {
    await closePages();
    await stack.close();
    await stream.stop();
    await media.close();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-media-'));
  const clip = await makeMedia(dir, 'long', { seconds: STEADY_SECONDS + 90, format: 'hls' });
  const media = await startMediaServer(dir);
  const browser = await launchChromium();
  try {
    const lines = [
      '## Web player: how closely pages stay together in real Chromium',
      '',
      `\`npm run bench:player\` (bench/player-sync.ts). Debian's Chromium headless via playwright-core, one browser`,
      `on this 2-core machine; ffmpeg-made HLS (2 s segments) from a local server. Recording drift = the element's`,
      `position − the server's timeline at the moment the page read it (the page's clock minus its known skew),`,
      `sampled every ${SAMPLE_MS} ms for ${STEADY_SECONDS} s after a 5 s warm-up. Delayed pages reach the bot through a`,
      `TCP proxy adding ${JITTER.delayMs} ± ${JITTER.jitterMs} ms (uniform) to every chunk in each direction. Rate range: the`,
      `lowest and highest playbackRate seen (the trim). Live spread = max − min over the pages of (frame number`,
      `shown ÷ 30 − the wall-clock time it was shown), each page's median over 8 frames, sampled every 250 ms.`,
      '',
      ...(await recordings(browser, clip, media.url)),
      ...(await live(browser, dir)),
    ];
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await media.close();
  }
}

await main();
