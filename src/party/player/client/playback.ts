// Following the party's timeline: applies the room's playback messages to the sync engine, ticks it,
// keeps the clock in step with pings, and renders the seek bar, the time and the sync pill.
import { SYNC_TUNING, type Timeline } from '../sync.js';
import { showNotice, ui, video } from './dom.js';
import { clock, controller, loadClip, reporter } from './media.js';
import { renderQueue } from './queue.js';
import { send } from './socket.js';
import { isController, state } from './state.js';
import { TEXT } from './strings.js';
import type { Playback } from './types.js';

function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The live window now (it slides on at 1 s/s from the last message), or null for a recording. */
function liveNow(): { start: number; live_point: number; edge: number } | null {
  const { liveWindow } = state;
  if (!liveWindow) return null;
  const slid = (Date.now() - liveWindow.at) / 1000;
  return {
    start: liveWindow.start + slid,
    live_point: liveWindow.live_point + slid,
    edge: liveWindow.edge + slid,
  };
}

function renderPlayback(): void {
  const t = controller.current;
  const target = controller.targetPosition() ?? 0;
  const duration = t?.duration ?? (Number.isFinite(video.duration) ? video.duration : null);
  const { holdingFor } = state;
  // A hold is the room meaning to play: the host's button pauses it for good.
  const playing = Boolean(t?.playing) || holdingFor !== null;
  ui.toggle.textContent = playing ? TEXT.pause : TEXT.play;
  ui.toggle.setAttribute('aria-pressed', String(playing));
  const live = liveNow();
  ui.goLive.hidden = live === null || !isController();
  if (live) {
    // The seek bar covers the window a player can still load, up to the live point.
    ui.seek.min = String(live.start);
    ui.seek.max = String(live.live_point);
    if (!state.seekDragging) ui.seek.value = String(target);
    const behind = Math.round(live.live_point - target);
    ui.time.textContent = behind <= 1 ? TEXT.live : TEXT.behindLive(behind);
    ui.time.dataset.live = String(behind <= 1);
  } else {
    ui.seek.min = '0';
    if (duration) ui.seek.max = String(duration);
    if (!state.seekDragging) ui.seek.value = String(target);
    ui.time.textContent = `${formatTime(target)} / ${duration ? formatTime(duration) : '–:––'}`;
    delete ui.time.dataset.live;
  }
  const stats = controller.snapshot;
  const drift = stats.driftMs === null ? null : Math.round(stats.driftMs);
  ui.sync.dataset.driftMs = drift === null ? '' : String(drift);
  ui.sync.dataset.hold = String(holdingFor !== null);
  if (!t || !t.clipId) ui.sync.textContent = TEXT.waiting;
  else if (holdingFor !== null)
    ui.sync.textContent = TEXT.waitingFor(
      holdingFor.map((who) => (who.user_id === state.me.user_id ? TEXT.youWaitedFor : who.display_name)),
    );
  else if (stats.stalled) ui.sync.textContent = TEXT.buffering;
  else if (drift !== null)
    ui.sync.textContent = Math.abs(drift) <= SYNC_TUNING.inSyncMs ? TEXT.inSync(drift) : TEXT.syncing(drift);
}

// Never a silently stuck player: an element that has had no data to play for this long gets its
// source reloaded at the party's position (hls.js can wedge after seeks on a poor connection).
const STUCK_RELOAD_MS = 3000;
let starvedSince: number | null = null;

let wakeTimer: number | undefined;
export function tick(): void {
  const action = controller.tick();
  // HAVE_CURRENT_DATA or more means a frame is there (a landing may hold it paused on purpose).
  const starved = state.loadedClipId !== null && video.readyState < 2 && action !== 'idle';
  starvedSince = starved ? (starvedSince ?? Date.now()) : null;
  if (starvedSince !== null && Date.now() - starvedSince > STUCK_RELOAD_MS) {
    starvedSince = null;
    void loadClip(state.currentClipId, true);
  }
  if (state.waitForEveryone)
    reporter.update(Boolean(controller.current?.playing) || state.holdingFor !== null, state.holdingFor !== null);
  if (controller.wakeInMs !== null) {
    // A landing wants to start playback at an exact moment, finer than the tick interval.
    window.clearTimeout(wakeTimer);
    wakeTimer = window.setTimeout(tick, controller.wakeInMs);
  }
  renderPlayback();
}

let pingTimer: number | undefined;
/** A burst of pings to learn the clock offset, then one now and then to keep it. */
export function pingBurst(): void {
  window.clearTimeout(pingTimer);
  let sent = 0;
  const next = () => {
    send({ type: 'ping', client_time: Date.now() });
    sent += 1;
    pingTimer = window.setTimeout(
      next,
      sent < SYNC_TUNING.clockBurst ? SYNC_TUNING.clockBurstIntervalMs : SYNC_TUNING.clockRefreshMs,
    );
  };
  next();
}

export function stopPings(): void {
  window.clearTimeout(pingTimer);
}

export function applyPlayback(message: Playback): void {
  if (message.seq < state.lastSeq) return;
  state.lastSeq = message.seq;
  const timeline: Timeline = {
    clipId: message.clip_id,
    anchorPosition: message.anchor_position,
    anchorServerTimeMs: message.anchor_server_time_ms,
    rate: message.playback_rate,
    playing: message.is_playing,
    duration: message.duration,
  };
  const changed = timeline.clipId !== state.currentClipId;
  state.currentClipId = timeline.clipId;
  state.holdingFor = message.hold === true ? (message.waiting_for ?? []) : null;
  // The window was where it says at server_time_ms; on this page's clock that was offset earlier.
  state.liveWindow = message.live ? { ...message.live, at: message.server_time_ms - clock.offsetMs } : null;
  if (message.reason === 'live-window') showNotice(TEXT.backToLive);
  controller.setTimeline(timeline);
  if (changed) renderQueue();
  void loadClip(state.currentClipId);
  tick();
}

export function initPlayback(): void {
  video.addEventListener('emptied', () => {
    starvedSince = null;
  });
  for (const event of ['playing', 'canplay', 'seeked', 'waiting'] as const) video.addEventListener(event, () => tick());
  window.setInterval(tick, SYNC_TUNING.tickMs);
  // A hidden tab's timers are throttled and its video may be paused by the browser: re-sync on return.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible') return;
    controller.mediaLoaded();
    send({ type: 'sync-request' });
    pingBurst();
    tick();
  });
}
