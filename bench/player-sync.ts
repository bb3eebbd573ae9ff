// Measures how closely the web player keeps viewers on the host timeline, in real headless Chromium:
// one host page and three viewer pages, the viewers behind a proxy adding delay and jitter to their
// socket and API calls, one viewer with a clock 3.7 s fast. Drift is measured from outside the pages
// (their clock reading with the skew taken out, against the server's timeline), every 250 ms for
// 60 s; then convergence after host seeks and after a late join. Prints a Markdown section for
// BENCHMARKS.md. Run with `npm run bench:player`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import {
  launchChromium,
  makeMedia,
  playerStats,
  sampleDrift,
  skewClock,
  sleep,
  startDelayProxy,
  startMediaServer,
  startPlayerStack,
} from '../test/player/support.js';

const STEADY_SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SAMPLE_MS = 250;
const NETWORK = { delayMs: 40, jitterMs: 25 };
const SKEW_MS = 3700;
const CONVERGED_MS = 100;
/** Converged means within CONVERGED_MS and staying there this long. */
const HOLD_MS = 1000;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

const ms = (value: number) => `${Math.round(value)} ms`;

interface Member {
  name: string;
  page: Page;
  skewMs: number;
}

async function stats(page: Page): Promise<{ seeks: number; driftSeeks: number; offsetMs: number; rttMs: number }> {
  return (await playerStats(page)) as never;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-media-'));
  const clip = await makeMedia(dir, 'long', { seconds: STEADY_SECONDS + 90, format: 'hls' });
  const media = await startMediaServer(dir);
  const stack = await startPlayerStack();
  const proxy = await startDelayProxy(stack.base, NETWORK);
  const browser = await launchChromium();
  try {
    const created = await stack.service.createParty({
      host: { id: 'host', name: 'Host' },
      source: `${media.url}/${clip}`,
      title: 'Benchmark',
    });
    const partyId = created.id;
    const open = async (base: string, token: string, skewMs = 0): Promise<Page> => {
      const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
      const page = await context.newPage();
      if (skewMs) await skewClock(page, skewMs);
      await page.goto(`${base}/watch-parties/${created.invite_code}#token=${encodeURIComponent(token)}`);
      await page.locator('#conn-status[data-state="connected"]').waitFor();
      return page;
    };
    const tokenFor = async (id: string) => (await stack.service.issueToken({ id, name: id }, partyId)).token;
    const host: Member = { name: 'host (direct)', page: await open(stack.base, created.token), skewMs: 0 };
    const viewers: Member[] = [
      { name: 'viewer 1 (delayed)', page: await open(proxy.url, await tokenFor('v1')), skewMs: 0 },
      { name: 'viewer 2 (delayed)', page: await open(proxy.url, await tokenFor('v2')), skewMs: 0 },
      {
        name: `viewer 3 (delayed, clock +${SKEW_MS / 1000} s)`,
        page: await open(proxy.url, await tokenFor('v3'), SKEW_MS),
        skewMs: SKEW_MS,
      },
    ];
    const everyone = [host, ...viewers];

    await host.page.locator('#play-toggle').click();
    // Warm-up: first load, first clock samples, the join seeks. Steady state starts after.
    await sleep(5000);

    // ---- steady state
    const before = await Promise.all(everyone.map((m) => stats(m.page)));
    const drifts = everyone.map(() => [] as number[]);
    const vsHost = viewers.map(() => [] as number[]);
    const started = Date.now();
    for (let next = started; next < started + STEADY_SECONDS * 1000; next += SAMPLE_MS) {
      await sleep(Math.max(0, next - Date.now()));
      const samples = await Promise.all(everyone.map((m) => sampleDrift(m.page, stack.service, partyId, m.skewMs)));
      samples.forEach((s, i) => drifts[i]!.push(s.driftMs));
      samples.slice(1).forEach((s, i) => vsHost[i]!.push(s.driftMs - samples[0]!.driftMs));
    }
    const after = await Promise.all(everyone.map((m) => stats(m.page)));

    const rows = everyone.map((m, i) => {
      const abs = drifts[i]!.map(Math.abs);
      const host = i === 0 ? '—' : ms(percentile(vsHost[i - 1]!.map(Math.abs), 95));
      return `| ${m.name} | ${abs.length} | ${ms(percentile(abs, 50))} | ${ms(percentile(abs, 95))} | ${ms(Math.max(...abs))} | ${host} | ${after[i]!.seeks - before[i]!.seeks} | ${Math.round(after[i]!.rttMs)} ms / ${Math.round(after[i]!.offsetMs)} ms |`;
    });

    // ---- convergence after host seeks (from the moment the server applied it)
    let firstPlayingAt: number | null = null;
    const converge = async (members: Member[], from: number): Promise<number> => {
      let since: number | null = null;
      firstPlayingAt = null;
      for (;;) {
        const samples = await Promise.all(members.map((m) => sampleDrift(m.page, stack.service, partyId, m.skewMs)));
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
      await stack.service.command(partyId, 'host', { type: 'seek', position: target });
      seekTimes.push(await converge(viewers, at));
      await sleep(1500);
    }

    // ---- late join (delayed and skewed, the hardest case)
    const lateAt = Date.now();
    const late: Member = {
      name: 'late',
      page: await open(proxy.url, await tokenFor('late'), -SKEW_MS),
      skewMs: -SKEW_MS,
    };
    const lateJoin = await converge([late], lateAt);
    const lateFromPlaying = firstPlayingAt === null ? NaN : lateAt + lateJoin - firstPlayingAt;
    const shot = join(tmpdir(), 'watch-party-bench-viewer.png');
    await late.page.screenshot({ path: shot });

    const lines = [
      '## Web player: drift against the host timeline in real Chromium',
      '',
      `\`npm run bench:player\` (bench/player-sync.ts). Debian's Chromium 156 headless via playwright-core, one`,
      `browser, four pages on this 2-core machine; ffmpeg-made HLS (2 s segments) from a local server. The`,
      `viewers reach the bot through a TCP proxy adding ${NETWORK.delayMs} ms ± ${NETWORK.jitterMs} ms (uniform) to every chunk in`,
      `each direction (RTT ≈ ${2 * NETWORK.delayMs} ms, jittered); viewer 3's Date.now and performance.now run ${SKEW_MS / 1000} s fast.`,
      `Drift = the element's currentTime − the server's timeline at the moment the page read it (the page's`,
      `clock minus its known skew: same machine), sampled every ${SAMPLE_MS} ms for ${STEADY_SECONDS} s after a 5 s warm-up.`,
      '',
      '| page | samples | p50 abs(drift) | p95 | max | p95 vs host element | seeks in steady state | clock rtt / offset |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
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
      `Screenshot of the late joiner's page: ${shot}`,
    ];
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await proxy.close();
    await stack.close();
    await media.close();
  }
}

await main();
