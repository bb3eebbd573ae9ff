// Unit tests of the web player's sync engine with a fake clock and a fake media element that plays
// at its playbackRate as time advances, stalls on demand, and takes a fixed time to complete a seek.
import { describe, expect, it } from 'vitest';
import {
  BufferingReporter,
  ClockSync,
  SYNC_TUNING,
  SyncController,
  type BufferedMediaLike,
  type MediaLike,
  type Timeline,
} from '../../src/party/player/sync.js';

class FakeClock {
  constructor(public t = 1_000_000) {}
  now = () => this.t;
}

/** Plays at playbackRate in fake time; a seek lands after `seekCostMs`, during which nothing advances. */
class FakeMedia implements MediaLike {
  position = 0;
  playbackRate = 1;
  paused = true;
  stalled = false;
  seekCostMs = 100;
  private seekUntil: number | null = null;
  private pendingSeek = 0;
  seekCount = 0;
  /** How much of the asked rate the element manages (a slow decoder is below 1). */
  efficiency = 1;
  onSeeked: (() => void) | null = null;

  constructor(private readonly clock: FakeClock) {}

  get currentTime(): number {
    return this.position;
  }
  set currentTime(value: number) {
    this.pendingSeek = value;
    this.position = value;
    this.seekUntil = this.clock.t + this.seekCostMs;
    this.seekCount += 1;
  }
  get seeking(): boolean {
    return this.seekUntil !== null;
  }
  get readyState(): number {
    return this.stalled || this.seeking ? 1 : 4;
  }
  pause(): void {
    this.paused = true;
  }
  play(): void {
    this.paused = false;
  }
  /** Advance fake time by `ms` in 10 ms steps. */
  advance(ms: number): void {
    for (let left = ms; left > 0; left -= 10) {
      const step = Math.min(10, left);
      this.clock.t += step;
      if (this.seekUntil !== null && this.clock.t >= this.seekUntil) {
        this.seekUntil = null;
        this.position = this.pendingSeek;
        this.onSeeked?.();
      } else if (this.seekUntil === null && !this.paused && !this.stalled) {
        this.position += (step / 1000) * this.playbackRate * this.efficiency;
      }
    }
  }
}

function setup(options: { offsetMs?: number } = {}) {
  const clock = new FakeClock();
  const media = new FakeMedia(clock);
  const sync = new ClockSync();
  // A server clock ahead of the client by offsetMs, measured over a symmetric 20 ms round trip.
  const offset = options.offsetMs ?? 0;
  sync.addSample(clock.t - 20, clock.t - 10 + offset, clock.t);
  const controller = new SyncController({ media, clock: sync, now: clock.now, play: () => media.play() });
  media.onSeeked = () => controller.onSeeked();
  /** Server time now, per the true offset. */
  const serverNow = () => clock.t + offset;
  const playingFrom = (position: number): Timeline => ({
    clipId: 'c1',
    anchorPosition: position,
    anchorServerTimeMs: serverNow(),
    rate: 1,
    playing: true,
    duration: 600,
  });
  /** Runs the controller every tick for `ms`, returning the worst |drift| seen in the last `tailMs`. */
  const runFor = (ms: number, tailMs = 0) => {
    let worst = 0;
    for (let elapsed = 0; elapsed < ms;) {
      controller.tick();
      // The page honours the controller's early wake-up (a landing's exact release time).
      const step = Math.max(10, Math.min(SYNC_TUNING.tickMs, Math.round((controller.wakeInMs ?? Infinity) / 10) * 10));
      media.advance(step);
      elapsed += step;
      if (elapsed >= ms - tailMs && !media.seeking) {
        worst = Math.max(worst, Math.abs(media.currentTime - controller.targetPosition()!) * 1000);
      }
    }
    return worst;
  };
  /** Puts the element exactly on the timeline, as if it had been in sync all along. */
  const align = () => {
    media.position = controller.targetPosition()!;
    media.playbackRate = 1;
    controller.tick();
  };
  return { clock, media, sync, controller, serverNow, playingFrom, runFor, align };
}

describe('ClockSync', () => {
  it('takes the offset from the lowest-delay sample, not the latest or an average', () => {
    const clock = new ClockSync();
    // True offset +5000 ms. A queued sample (slow uplink) is skewed; the quick one is right.
    clock.addSample(0, 5000 + 150, 200); // uplink 150, downlink 50: estimate off by 50
    clock.addSample(1000, 6000 + 10, 1020); // 10/10: exact
    clock.addSample(2000, 7000 + 300, 2400); // 300/100
    expect(clock.offsetMs).toBe(5000);
    expect(clock.rttMs).toBe(20);
  });

  it('forgets old samples, so a changed path is followed', () => {
    const clock = new ClockSync(3);
    clock.addSample(0, 100, 2); // offset 99, rtt 2
    for (let i = 1; i <= 3; i++) clock.addSample(i * 1000, i * 1000 + 500 + 5, i * 1000 + 10);
    expect(clock.offsetMs).toBe(500);
  });

  it('ignores impossible samples and starts at zero', () => {
    const clock = new ClockSync();
    expect(clock.offsetMs).toBe(0);
    clock.addSample(100, 50, 90);
    clock.addSample(100, Number.NaN, 110);
    expect(clock.ready).toBe(false);
  });
});

describe('SyncController', () => {
  it('follows the anchored timeline through a skewed client clock', () => {
    const { controller, clock, playingFrom } = setup({ offsetMs: -3700 });
    controller.setTimeline(playingFrom(12));
    clock.t += 2000;
    expect(controller.targetPosition()).toBeCloseTo(14, 3);
  });

  it('does nothing inside the trim threshold: no rate change, no seek', () => {
    const { controller, media, playingFrom, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100);
    media.position = controller.targetPosition()! + 0.02; // 20 ms ahead
    runFor(2000);
    expect(media.seekCount).toBe(1); // the one recovery seek at the start, none for the 20 ms
    expect(media.playbackRate).toBe(1);
  });

  it('trims the rate in proportion, never beyond ±3 %, until inside ±15 ms, then plays at exactly 1.0', () => {
    const { controller, media, playingFrom, runFor, align } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100); // out of the post-change window
    align();
    const seeks = media.seekCount;
    media.position += 0.2; // 200 ms ahead: inside what the full trim closes in its budget, so no seek
    expect(controller.tick()).toBe('trim');
    expect(media.playbackRate).toBeCloseTo(1 - SYNC_TUNING.maxRateTrim, 5);
    media.position -= 0.18; // 20 ms ahead: proportional, in steps
    controller.tick();
    expect(media.playbackRate).toBeCloseTo(1 - 0.02 * SYNC_TUNING.rateGainPerSecond, 5);
    const rates: number[] = [];
    for (let i = 0; i < 40; i++) {
      controller.tick();
      rates.push(media.playbackRate);
      media.advance(SYNC_TUNING.tickMs);
    }
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(1 - SYNC_TUNING.maxRateTrim - 1e-9);
    expect(Math.max(...rates)).toBeLessThanOrEqual(1 + SYNC_TUNING.maxRateTrim + 1e-9);
    expect(media.seekCount).toBe(seeks);
    expect(Math.abs(media.currentTime - controller.targetPosition()!) * 1000).toBeLessThan(SYNC_TUNING.settleMs);
    expect(media.playbackRate).toBe(1);
  });

  it('keeps trimming between the settle and trim thresholds once started (hysteresis)', () => {
    const { controller, media, playingFrom, runFor, align } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100);
    align();
    media.position += 0.03;
    expect(controller.tick()).toBe('trim');
    expect(media.playbackRate).toBeLessThan(1);
    media.position -= 0.01; // 20 ms: under the trim threshold, above settle
    expect(controller.tick()).toBe('trim');
    media.position -= 0.01; // 10 ms
    expect(controller.tick()).toBe('hold');
    expect(media.playbackRate).toBe(1);
  });

  it('does not wobble: a reading that jitters by ±10 ms around the timeline leaves the rate alone', () => {
    const { controller, media, playingFrom, runFor, align, clock } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100);
    align();
    let changes = 0;
    let last = media.playbackRate;
    for (let i = 0; i < 400; i++) {
      // Put the element exactly on the timeline ± 10 ms of read noise, as a real element's currentTime jitters.
      media.position = controller.targetPosition()! + Math.sin(i * 1.7 + clock.t) * 0.01;
      controller.tick();
      if (media.playbackRate !== last) changes += 1;
      last = media.playbackRate;
      media.advance(SYNC_TUNING.tickMs);
    }
    expect(changes).toBe(0);
    expect(media.seekCount).toBe(1);
  });

  it('seeks only beyond what the full trim closes within its budget, aiming ahead by the measured seek cost', () => {
    const { controller, media, playingFrom, runFor } = setup();
    media.seekCostMs = 300;
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.minSeekIntervalMs + 500);
    const before = controller.snapshot;
    const reach = SYNC_TUNING.maxRateTrim * SYNC_TUNING.correctionBudgetMs;
    media.position += (reach - 20) / 1000;
    expect(controller.tick()).toBe('trim');
    media.position = controller.targetPosition()!;
    runFor(SYNC_TUNING.minSeekIntervalMs + 500);
    // A first jump teaches it the real seek cost; the second lands within the settle band at once.
    media.position += 5;
    runFor(SYNC_TUNING.minSeekIntervalMs + 500);
    media.position += (reach + 60) / 1000;
    expect(controller.tick()).toBe('seek');
    // Lands ahead, waits on the frame, and starts as the party arrives: in sync from the first frame.
    const worst = runFor(1500, 1500 - (media.seekCostMs + SYNC_TUNING.landingMarginMs + 100));
    expect(worst).toBeLessThan(SYNC_TUNING.trimAboveMs);
    expect(controller.snapshot.seekCostMs).toBeGreaterThan(before.seekCostMs);
    expect(controller.snapshot.driftSeeks).toBe(2);
  });

  it('does not seek-loop on a decoder that cannot keep the pace: seeks grow rarer, up to one a minute', () => {
    const { controller, media, playingFrom, runFor } = setup();
    media.efficiency = 0.95; // plays 5 % slower than asked, whatever the rate: more than the trim can make up
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100);
    const seekTimes: number[] = [];
    let seeks = controller.snapshot.driftSeeks;
    const rates = new Set<number>();
    for (let t = 0; t < 300_000; t += SYNC_TUNING.tickMs) {
      runFor(SYNC_TUNING.tickMs);
      rates.add(media.playbackRate);
      if (controller.snapshot.driftSeeks > seeks) {
        seeks = controller.snapshot.driftSeeks;
        seekTimes.push(t);
      }
    }
    // A seek every ~12 s (the time to fall 240 ms behind) would be 25 in five minutes.
    expect(seekTimes.length).toBeLessThanOrEqual(10);
    const gaps = seekTimes.slice(1).map((t, i) => t - seekTimes[i]!);
    expect(gaps.slice(-3).every((gap) => gap >= 55_000)).toBe(true);
    expect(Math.min(...rates)).toBeGreaterThanOrEqual(1 - SYNC_TUNING.maxRateTrim - 1e-9);
    expect(Math.max(...rates)).toBeLessThanOrEqual(1 + SYNC_TUNING.maxRateTrim + 1e-9);
  });

  it('never seeks more often than the minimum interval, however bad the drift', () => {
    const { controller, media, playingFrom, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(SYNC_TUNING.recoverWindowMs + 100);
    const start = media.seekCount;
    for (let i = 0; i < 20; i++) {
      media.position += 3; // something keeps throwing it off
      runFor(SYNC_TUNING.tickMs);
    }
    const seconds = (20 * SYNC_TUNING.tickMs) / 1000;
    expect(media.seekCount - start).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / SYNC_TUNING.minSeekIntervalMs));
  });

  it('jumps at once when the room moves (host seek), without counting it as drift', () => {
    const { controller, media, playingFrom, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(4000);
    controller.setTimeline(playingFrom(100));
    const worst = runFor(1000, 500);
    expect(worst).toBeLessThan(SYNC_TUNING.trimAboveMs);
    expect(controller.snapshot.driftSeeks).toBe(0);
  });

  it('a viewer who stalls catches up when playback resumes; the timeline is not held back', () => {
    const { controller, media, playingFrom, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(3000);
    media.stalled = true;
    runFor(1500);
    expect(controller.tick()).toBe('wait');
    expect(controller.snapshot.stalled).toBe(true);
    // The party moved on while this viewer buffered.
    expect(controller.targetPosition()! - media.currentTime).toBeGreaterThan(1.4);
    media.stalled = false;
    const worst = runFor(1500, 700);
    expect(worst).toBeLessThan(SYNC_TUNING.trimAboveMs);
    expect(controller.snapshot.driftSeeks).toBe(0);
  });

  it('a seek that waited seconds for data is a stall: the drift it leaves is fixed by one seek, not by nudging', () => {
    const { controller, media, playingFrom, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(3000);
    // The host jumps to a part this viewer has not loaded; its seek takes 2 s to find data.
    media.seekCostMs = 2000;
    controller.setTimeline(playingFrom(100));
    runFor(2100);
    media.seekCostMs = 100;
    expect(controller.targetPosition()! - media.currentTime).toBeGreaterThan(1.5);
    const worst = runFor(1500, 700);
    expect(worst).toBeLessThan(SYNC_TUNING.trimAboveMs);
    expect(controller.snapshot.driftSeeks).toBe(0);
  });

  it('pauses at the exact position and resumes from it', () => {
    const { controller, media, playingFrom, serverNow, runFor } = setup();
    controller.setTimeline(playingFrom(10));
    media.play();
    runFor(2000);
    controller.setTimeline({ ...playingFrom(12), playing: false, anchorServerTimeMs: serverNow() });
    runFor(1000);
    expect(media.paused).toBe(true);
    expect(Math.abs(media.currentTime - 12) * 1000).toBeLessThanOrEqual(SYNC_TUNING.settleMs);
  });

  it('stays put with no timeline, and clamps the target to the clip length', () => {
    const { controller, media, clock, playingFrom } = setup();
    expect(controller.tick()).toBe('idle');
    expect(media.seekCount).toBe(0);
    controller.setTimeline({ ...playingFrom(595), duration: 600 });
    clock.t += 60_000;
    expect(controller.targetPosition()).toBe(600);
  });
});

/** What the reporter reads of an element, set by hand: where it is, whether it can play, what is loaded. */
class FakeBufferedMedia implements BufferedMediaLike {
  currentTime = 10;
  duration = 600;
  seeking = false;
  readyState = 4;
  ranges: Array<[number, number]> = [[0, 40]];
  get buffered() {
    const ranges = this.ranges;
    return { length: ranges.length, start: (i: number) => ranges[i]![0], end: (i: number) => ranges[i]![1] };
  }
}

describe('BufferingReporter (wait for everyone)', () => {
  function setup() {
    const clock = new FakeClock();
    const media = new FakeBufferedMedia();
    const sent: boolean[] = [];
    const reporter = new BufferingReporter({ media, now: clock.now, send: (buffering) => sent.push(buffering) });
    /** Runs the page's tick every 250 ms for `ms`. */
    const run = (ms: number, wanted = true, holding = false) => {
      for (let t = 0; t < ms; t += SYNC_TUNING.tickMs) {
        reporter.update(wanted, holding);
        clock.t += SYNC_TUNING.tickMs;
      }
      reporter.update(wanted, holding);
    };
    return { clock, media, sent, reporter, run };
  }

  it('says nothing about a blip, reports a stall once, and says at once when it plays again', () => {
    const { media, sent, reporter, run } = setup();
    run(2000);
    media.readyState = 2;
    run(250);
    media.readyState = 4;
    run(1000);
    expect(sent).toEqual([]);
    media.seeking = true;
    run(3000);
    expect(sent).toEqual([true]);
    expect(reporter.buffering).toBe(true);
    media.seeking = false;
    reporter.update(true, false);
    expect(sent).toEqual([true, false]);
  });

  it('does not flood: a player flapping every 100 ms sends nothing', () => {
    const { clock, media, sent, reporter } = setup();
    for (let t = 0; t < 10_000; t += 100) {
      media.readyState = (t / 100) % 2 === 0 ? 1 : 4;
      reporter.update(true, false);
      clock.t += 100;
    }
    expect(sent).toEqual([]);
  });

  it('never reports while the party is paused, and takes a report back when a host pauses', () => {
    const { media, sent, run } = setup();
    media.readyState = 1;
    run(3000, false);
    expect(sent).toEqual([]);
    run(1000, true);
    expect(sent).toEqual([true]);
    run(250, false);
    expect(sent).toEqual([true, false]);
  });

  it('while the room waits for it, is ready only with a second to play ahead', () => {
    const { media, sent, reporter, run } = setup();
    media.readyState = 1;
    media.ranges = [[0, 20]];
    media.currentTime = 70;
    run(1000);
    expect(sent).toEqual([true]);
    // Held: the element sits paused with a frame but almost nothing after it.
    media.readyState = 3;
    media.ranges = [
      [0, 20],
      [69.9, 70.4],
    ];
    run(1000, true, true);
    expect(reporter.buffering).toBe(true);
    media.ranges = [
      [0, 20],
      [69.9, 72],
    ];
    run(250, true, true);
    expect(sent).toEqual([true, false]);
  });

  it('tells a new connection where it stands', () => {
    const { sent, reporter } = setup();
    reporter.resend();
    expect(sent).toEqual([false]);
  });
});
