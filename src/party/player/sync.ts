// The web player's sync engine: estimates the server clock from ping/pong samples and keeps a media
// element on the party's anchored timeline with tiered, hysteretic corrections. Pure: the clock and
// the media element are passed in, so the maths is unit-tested with fakes and the page only wires
// DOM events to it. Thresholds live in SYNC_TUNING and nowhere else.

export const SYNC_TUNING = {
  /**
   * Steady state is a gentle playbackRate trim, never a seek: a trim starts once the drift is past
   * trimAboveMs and ends (rate back to the party's) once it is inside settleMs. The gap between the
   * two is the hysteresis that keeps the rate from flickering around one threshold.
   */
  trimAboveMs: 25,
  settleMs: 15,
  /** Largest trim, as a fraction of the party rate: ±3 % is below what people hear as a speed change. */
  maxRateTrim: 0.03,
  /** Trim per second of drift: 30 ms of drift → 3 %, so a trim closes its gap in about a second. */
  rateGainPerSecond: 1,
  /** Trims move in steps of this much, so a noisy reading does not change the rate on every tick. */
  rateStep: 0.0025,
  /**
   * A drift the full trim closes within this long is trimmed; only a larger one is worth a seek
   * (maxRateTrim × correctionBudgetMs = 240 ms). A seek is a visible jump; a trim is not.
   */
  correctionBudgetMs: 8000,
  /** Text the page shows as "In sync" up to this drift (the steady-state goal is well inside it). */
  inSyncMs: 40,
  /**
   * Correction seeks are spaced at least this far apart so a bad network cannot cause a seek storm.
   * A drift seek that is needed again soon after the last one means the element cannot keep the
   * party's pace (a slow decoder): seeking again would only loop, so the spacing doubles each time,
   * up to maxSeekIntervalMs, and comes back down after a quiet spell.
   */
  minSeekIntervalMs: 3000,
  maxSeekIntervalMs: 60_000,
  /**
   * Right after a stall, a load or a timeline change, drift beyond this is fixed by one seek (which
   * lands precisely, see landingMarginMs) rather than by seconds of trimming.
   */
  recoverSeekAboveMs: 150,
  /** How long after a stall or a timeline change the recovery threshold applies. */
  recoverWindowMs: 1500,
  /** Seek cost guess before one is measured (time from setting currentTime to `seeked`). */
  initialSeekCostMs: 200,
  /**
   * A seek aims this far past where the party will be when the seek completes; the element then
   * waits, paused on the frame, and starts exactly when the party reaches it. Landing precision no
   * longer depends on guessing the seek cost right, only on the start latency below.
   */
  landingMarginMs: 150,
  /** Time from play() to the clock moving, guessed until measured; the landing releases this early. */
  initialStartLatencyMs: 40,
  /** Longest a landing may wait paused before it gives up and lets the normal tiers take over. */
  maxLandingWaitMs: 2000,
  /** A measured seek cost above this is treated as a stall, not as the cost of seeking. */
  maxSeekCostMs: 1500,
  /** Clock samples kept; the one with the lowest round trip wins (least queueing, least asymmetry). */
  clockSamples: 12,
  /** Pings sent in a quick burst on (re)connect, then one per refresh interval. */
  clockBurst: 5,
  clockBurstIntervalMs: 150,
  clockRefreshMs: 2000,
  /** The controller runs this often; also on every timeline change and media event. */
  tickMs: 250,
  /**
   * Wait for everyone: a player tells the room it is buffering once it has been unable to play for
   * this long (a seek or a blip shorter than this stops nobody), and that it is ready at once.
   */
  bufferingReportMs: 400,
  /** While the room waits for this player, it is ready only with this much to play ahead (no instant re-stall). */
  readyAheadS: 1,
} as const;

export type SyncTuning = typeof SYNC_TUNING;

/** NTP-style estimate of `server clock − client clock`, from the lowest-delay recent sample. */
export class ClockSync {
  private readonly samples: Array<{ offsetMs: number; rttMs: number }> = [];

  constructor(private readonly keep: number = SYNC_TUNING.clockSamples) {}

  /** `sentAt` and `receivedAt` on the client clock; `serverTimeMs` from the pong. */
  addSample(sentAt: number, serverTimeMs: number, receivedAt: number): void {
    const rttMs = receivedAt - sentAt;
    if (!(rttMs >= 0) || !Number.isFinite(serverTimeMs)) return;
    this.samples.push({ offsetMs: serverTimeMs - (sentAt + receivedAt) / 2, rttMs });
    if (this.samples.length > this.keep) this.samples.shift();
  }

  get ready(): boolean {
    return this.samples.length > 0;
  }

  private best(): { offsetMs: number; rttMs: number } | undefined {
    let best: { offsetMs: number; rttMs: number } | undefined;
    for (const sample of this.samples) if (!best || sample.rttMs < best.rttMs) best = sample;
    return best;
  }

  /** 0 until the first pong: a client whose clock is right still plays roughly in sync meanwhile. */
  get offsetMs(): number {
    return this.best()?.offsetMs ?? 0;
  }

  get rttMs(): number | null {
    return this.best()?.rttMs ?? null;
  }

  /** Forget samples (after a reconnect the path may have changed). */
  reset(): void {
    this.samples.length = 0;
  }
}

/** The subset of HTMLMediaElement the controller reads and drives. */
export interface MediaLike {
  currentTime: number;
  playbackRate: number;
  readonly paused: boolean;
  readonly seeking: boolean;
  /** HTMLMediaElement.readyState: below 3 (HAVE_FUTURE_DATA) the element is buffering. */
  readonly readyState: number;
  pause(): void;
}

/** The party's authoritative timeline, as carried by every playback message. */
export interface Timeline {
  clipId: string | null;
  anchorPosition: number;
  anchorServerTimeMs: number;
  rate: number;
  playing: boolean;
  duration: number | null;
}

export type SeekReason = 'timeline' | 'stall' | 'drift';

export interface SyncStats {
  /** Latest drift (media − target) in ms; null while nothing is known. */
  driftMs: number | null;
  seeks: number;
  /** Seeks made to fix drift with no timeline change or stall to explain them (the steady-state ones). */
  driftSeeks: number;
  /** The rate is trimmed off the party's to close a small drift. */
  trimming: boolean;
  seekCostMs: number;
  startLatencyMs: number;
  stalled: boolean;
}

export interface SyncControllerOptions {
  media: MediaLike;
  clock: ClockSync;
  /** The client clock in ms (Date.now in the page); the clock offset maps it to the server's. */
  now: () => number;
  /** Starts playback; the page owns autoplay handling (muted fallback, join overlay). */
  play: () => void;
  tuning?: Partial<SyncTuning>;
}

export class SyncController {
  private timeline: Timeline | null = null;
  private readonly tuning: SyncTuning;
  private trimming = false;
  private driftSeekSpacingMs: number;
  private lastDriftSeekAt = Number.NEGATIVE_INFINITY;
  private lastSeekAt = Number.NEGATIVE_INFINITY;
  private seekStartedAt: number | null = null;
  private recoverUntil = Number.NEGATIVE_INFINITY;
  private recoverReason: SeekReason = 'timeline';
  private wasStalled = false;
  /** Set while a seek lands: the element waits on its frame for the party to arrive. */
  private landing: { startedAt: number; released: boolean } | null = null;
  private readonly stats: SyncStats;
  /** When the page should run tick() again sooner than its interval (a landing's exact release time). */
  wakeInMs: number | null = null;

  constructor(private readonly options: SyncControllerOptions) {
    this.tuning = { ...SYNC_TUNING, ...options.tuning };
    this.driftSeekSpacingMs = this.tuning.minSeekIntervalMs;
    this.stats = {
      driftMs: null,
      seeks: 0,
      driftSeeks: 0,
      trimming: false,
      seekCostMs: this.tuning.initialSeekCostMs,
      startLatencyMs: this.tuning.initialStartLatencyMs,
      stalled: false,
    };
  }

  get snapshot(): Readonly<SyncStats> {
    return { ...this.stats, trimming: this.trimming };
  }

  get current(): Timeline | null {
    return this.timeline;
  }

  /** Where the party is now, in seconds into the clip. */
  targetPosition(at = this.options.now()): number | null {
    const t = this.timeline;
    if (!t) return null;
    const elapsedMs = t.playing ? at + this.options.clock.offsetMs - t.anchorServerTimeMs : 0;
    const position = t.anchorPosition + (Math.max(0, elapsedMs) / 1000) * t.rate;
    return t.duration !== null ? Math.min(position, t.duration) : position;
  }

  /**
   * A new timeline from the server. Any change of position, play state or clip opens a recovery window
   * in which a large drift is fixed by one immediate seek: the room moved, the user expects a jump.
   */
  setTimeline(next: Timeline): void {
    this.timeline = next;
    this.landing = null;
    this.openRecovery('timeline', this.options.now());
  }

  /**
   * The element just (re)loaded or came back from a hidden tab: whatever drift it has now is not
   * steady-state drift, so the next correction may seek at once.
   */
  mediaLoaded(): void {
    this.wasStalled = false;
    this.landing = null;
    this.openRecovery('timeline', this.options.now());
  }

  /** Forget the timeline (a new clip is loading). */
  clear(): void {
    this.timeline = null;
    this.landing = null;
    this.stats.driftMs = null;
    this.trimming = false;
  }

  /** Call on the media element's `seeked`: measures what a seek costs, to aim ahead next time. */
  onSeeked(): void {
    if (this.seekStartedAt === null) return;
    const cost = this.options.now() - this.seekStartedAt;
    this.seekStartedAt = null;
    if (cost >= 0 && cost <= this.tuning.maxSeekCostMs) {
      this.stats.seekCostMs = Math.round(this.stats.seekCostMs * 0.5 + cost * 0.5);
    } else if (cost > this.tuning.maxSeekCostMs) {
      // It waited for data (a part not loaded yet): the party moved on meanwhile, as in a stall, and
      // one seek fixes what is left rather than seconds of trimming.
      this.wasStalled = true;
    }
  }

  /** One control step; returns what it did. */
  tick(): 'idle' | 'wait' | 'hold' | 'trim' | 'seek' | 'paused' | 'land' {
    const { media } = this.options;
    const t = this.timeline;
    const now = this.options.now();
    const target = this.targetPosition(now);
    this.wakeInMs = null;
    if (!t || target === null) return 'idle';
    const baseRate = t.rate;

    if (!t.playing) {
      this.landing = null;
      this.trimming = false;
      if (!media.paused) media.pause();
      if (media.playbackRate !== baseRate) media.playbackRate = baseRate;
      const driftMs = (media.currentTime - target) * 1000;
      this.stats.driftMs = driftMs;
      if (!media.seeking && Math.abs(driftMs) > this.tuning.settleMs) {
        this.seek(target, now, this.recoverReason);
        return 'seek';
      }
      return 'paused';
    }

    if (this.landing) {
      const landed = this.land(target, now, baseRate);
      if (landed) return landed;
    }

    if (media.paused) this.options.play();
    const buffering = media.seeking || media.readyState < 3;
    if (buffering) {
      if (!media.seeking) this.wasStalled = true;
      this.stats.stalled = !media.seeking;
      return 'wait';
    }
    this.stats.stalled = false;
    if (this.wasStalled) {
      // A viewer who buffered catches up now; the room never waited for them.
      this.wasStalled = false;
      this.openRecovery('stall', now);
    }

    const driftMs = (media.currentTime - target) * 1000;
    this.stats.driftMs = driftMs;
    const size = Math.abs(driftMs);
    const recovering = now < this.recoverUntil;
    // Outside a recovery, a seek is only for a gap the full trim cannot close within its budget.
    const seekAbove = recovering
      ? this.tuning.recoverSeekAboveMs
      : this.tuning.maxRateTrim * this.tuning.correctionBudgetMs;
    const spacing = recovering ? this.tuning.minSeekIntervalMs : this.driftSeekSpacingMs;
    if (size > seekAbove && now - this.lastSeekAt >= spacing) {
      // Aim where the party will be once the seek is done, plus a margin to wait out on the frame.
      const ahead = ((this.stats.seekCostMs + this.tuning.landingMarginMs) / 1000) * baseRate;
      const aim = t.duration !== null ? Math.min(target + ahead, t.duration) : target + ahead;
      if (!recovering) this.spaceDriftSeeks(now);
      this.seek(aim, now, recovering ? this.recoverReason : 'drift');
      media.playbackRate = baseRate;
      this.trimming = false;
      this.landing = { startedAt: now, released: false };
      return 'seek';
    }

    if (!this.trimming && size > this.tuning.trimAboveMs) this.trimming = true;
    else if (this.trimming && size < this.tuning.settleMs) this.trimming = false;
    if (!this.trimming) {
      if (media.playbackRate !== baseRate) media.playbackRate = baseRate;
      return 'hold';
    }
    const { maxRateTrim, rateStep } = this.tuning;
    const wanted = Math.max(-maxRateTrim, Math.min(maxRateTrim, (driftMs / 1000) * this.tuning.rateGainPerSecond));
    // At least one step, so a trim that started always moves the drift toward zero.
    const trim = Math.sign(wanted) * Math.max(rateStep, Math.round(Math.abs(wanted) / rateStep) * rateStep);
    // Ahead (positive drift) → slower; behind → faster.
    const rate = baseRate * (1 - trim);
    if (Math.abs(media.playbackRate - rate) > 1e-9) media.playbackRate = rate;
    return 'trim';
  }

  /**
   * Called on each drift seek: one needed again soon (within a minute, or twice the current spacing)
   * means the element does not keep the party's pace, so the next is spaced twice as far (a seek
   * loop helps nobody). Quiet for longer, the spacing is back to the minimum.
   */
  private spaceDriftSeeks(now: number): void {
    const soon = now - this.lastDriftSeekAt < Math.max(60_000, 2 * this.driftSeekSpacingMs);
    this.driftSeekSpacingMs = soon
      ? Math.min(this.tuning.maxSeekIntervalMs, this.driftSeekSpacingMs * 2)
      : this.tuning.minSeekIntervalMs;
    this.lastDriftSeekAt = now;
  }

  /**
   * One step of a landing: wait for the seek, hold paused while ahead, start `startLatency` before the
   * party arrives (scheduling an exact wake-up), then learn the start latency from the first reading.
   * Returns null when the landing is over and the normal tiers should run.
   */
  private land(target: number, now: number, rate: number): 'land' | 'wait' | null {
    const { media } = this.options;
    const landing = this.landing!;
    if (now - landing.startedAt > this.tuning.maxLandingWaitMs) {
      this.landing = null;
      return null;
    }
    if (media.seeking) return 'wait';
    const driftMs = (media.currentTime - target) * 1000;
    this.stats.driftMs = driftMs;
    if (!landing.released) {
      const early = this.stats.startLatencyMs;
      if (driftMs > early) {
        if (!media.paused) media.pause();
        this.wakeInMs = (driftMs - early) / rate;
        return 'land';
      }
      landing.released = true;
      this.options.play();
      this.wakeInMs = Math.max(this.stats.startLatencyMs * 2, 100);
      return 'land';
    }
    if (media.paused || media.readyState < 3) return 'wait';
    // Behind by x: the clock started x later than guessed (ahead: earlier). A wild reading is a
    // hiccup, not a latency.
    const latency = this.stats.startLatencyMs - driftMs;
    if (Math.abs(driftMs) < 300)
      this.stats.startLatencyMs = Math.round(
        Math.max(0, Math.min(500, this.stats.startLatencyMs * 0.5 + latency * 0.5)),
      );
    this.landing = null;
    return null;
  }

  /** Drift now is explained (by `reason`), not steady-state: the next correction may seek at once. */
  private openRecovery(reason: SeekReason, now: number): void {
    this.recoverUntil = now + this.tuning.recoverWindowMs;
    this.recoverReason = reason;
    this.lastSeekAt = Number.NEGATIVE_INFINITY;
  }

  private seek(position: number, now: number, reason: SeekReason): void {
    const { media } = this.options;
    media.currentTime = Math.max(0, position);
    this.lastSeekAt = now;
    this.seekStartedAt = now;
    this.stats.seeks += 1;
    if (reason === 'drift') this.stats.driftSeeks += 1;
    // One recovery seek per change: later drift goes back to the normal tiers.
    this.recoverUntil = Number.NEGATIVE_INFINITY;
  }
}

/** What the buffering reporter reads of the media element (HTMLMediaElement has it all). */
export interface BufferedMediaLike {
  readonly currentTime: number;
  readonly duration: number;
  readonly seeking: boolean;
  readonly readyState: number;
  readonly buffered: { readonly length: number; start(index: number): number; end(index: number): number };
}

/**
 * Wait for everyone: decides when this player tells the room it cannot play (`buffering: true`) and
 * when it can again (`false`). One message per change, a stall reported only once it has lasted
 * bufferingReportMs, so a blip stops nobody and nothing floods the socket.
 */
export class BufferingReporter {
  private stalledSince: number | null = null;
  private reported = false;
  private readonly tuning: SyncTuning;

  constructor(
    private readonly options: {
      media: BufferedMediaLike;
      now: () => number;
      send: (buffering: boolean) => void;
      tuning?: Partial<SyncTuning>;
    },
  ) {
    this.tuning = { ...SYNC_TUNING, ...options.tuning };
  }

  /** True while the room has been told this player is buffering. */
  get buffering(): boolean {
    return this.reported;
  }

  /**
   * One step. `wanted`: the party means to play (it plays, or holds for someone); `holding`: it holds.
   * Anything else (a host pause, a party without the setting) is never buffering.
   */
  update(wanted: boolean, holding: boolean): void {
    const { media } = this.options;
    let stalled = wanted && (media.seeking || media.readyState < 3);
    if (wanted && !stalled && holding && this.reported) stalled = !this.enoughAhead();
    const now = this.options.now();
    if (!stalled) {
      this.stalledSince = null;
      if (this.reported) this.say(false);
      return;
    }
    this.stalledSince ??= now;
    if (!this.reported && now - this.stalledSince >= this.tuning.bufferingReportMs) this.say(true);
  }

  /** After a (re)connect the room may remember an older report: tell it the current one. */
  resend(): void {
    this.options.send(this.reported);
  }

  private say(buffering: boolean): void {
    this.reported = buffering;
    this.options.send(buffering);
  }

  private enoughAhead(): boolean {
    const { media } = this.options;
    const at = media.currentTime;
    if (Number.isFinite(media.duration) && at >= media.duration - this.tuning.readyAheadS) return true;
    for (let i = 0; i < media.buffered.length; i++) {
      if (media.buffered.start(i) <= at + 0.1 && media.buffered.end(i) >= at + this.tuning.readyAheadS) return true;
    }
    return false;
  }
}
