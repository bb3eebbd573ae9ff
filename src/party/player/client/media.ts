// The video element: the sync engine's view of it (a position on the party's timeline), autoplay,
// and loading a clip (hls.js for HLS, loaded only when needed; the native element for MP4/WebM),
// with the signed media URL refreshed before it runs out.
import type HlsType from 'hls.js';
import type { LevelDetails } from 'hls.js';
import { BufferingReporter, ClockSync, SyncController, type MediaLike } from '../sync.js';
import { authed } from './api.js';
import { showNotice, ui, video } from './dom.js';
import { send } from './socket.js';
import { isController, state } from './state.js';
import { TEXT } from './strings.js';
import type { LiveClock } from './types.js';

let hls: HlsType | null = null;
let reportedDuration: string | null = null;

// ---------------------------------------------------------------------------------------------
// Autoplay: try with sound; if the browser refuses, play muted with an unmute banner; if even that
// is refused, a one-click overlay. Never a silently stuck player.

let playPending = false;
function requestPlay(): void {
  if (playPending || !ui.overlay.hidden) return;
  playPending = true;
  video
    .play()
    .catch(async (error: unknown) => {
      if (!(error instanceof DOMException) || error.name !== 'NotAllowedError') return;
      if (!video.muted) {
        // Muted from here on until the user unmutes: say so at once, whatever the next play() does.
        video.muted = true;
        ui.unmuteBanner.hidden = false;
        try {
          await video.play();
          return;
        } catch (retryError) {
          // A reload can abort it; only a refusal means even muted playback is blocked.
          if (!(retryError instanceof DOMException) || retryError.name !== 'NotAllowedError') return;
        }
      }
      ui.unmuteBanner.hidden = true;
      ui.overlay.hidden = false;
    })
    .finally(() => {
      playPending = false;
    });
}

/**
 * The element as the sync engine sees it: a position on the party's timeline. For a recording that
 * is currentTime. For a live clip it is content time after the clip's epoch: currentTime counts from
 * whatever this page loaded first, so `shift` (from hls.js's fragments, see liveShift) maps one onto
 * the other; until it is known the element reads as not ready and nothing is sought.
 */
const media = {
  shift: 0 as number | null,
  get currentTime(): number {
    return video.currentTime + (this.shift ?? 0);
  },
  set currentTime(position: number) {
    if (this.shift !== null) video.currentTime = Math.max(0, position - this.shift);
  },
  get playbackRate(): number {
    return video.playbackRate;
  },
  set playbackRate(rate: number) {
    video.playbackRate = rate;
  },
  get paused(): boolean {
    return video.paused;
  },
  get seeking(): boolean {
    return video.seeking;
  },
  get readyState(): number {
    return this.shift === null ? 0 : video.readyState;
  },
  pause(): void {
    video.pause();
  },
} satisfies MediaLike & { shift: number | null };

export const clock = new ClockSync();
export const controller = new SyncController({ media, clock, now: () => Date.now(), play: requestPlay });
export const reporter = new BufferingReporter({
  media: video,
  now: () => Date.now(),
  send: (buffering) => send({ type: 'buffering', buffering }),
});

/**
 * Where the page fetches media from: the URL itself, or inside Discord its `/.proxy` form, or a refusal
 * to show when no mapping reaches it (activity.ts sets these).
 */
const reach = {
  media: (url: string): { url: string } | { refused: string } => ({ url }),
  request: (url: string): string => url,
};
export function setMediaReach(media: typeof reach.media, request: typeof reach.request): void {
  reach.media = media;
  reach.request = request;
}

interface Playable {
  url: string;
  media_type: 'hls' | 'mp4' | 'webm';
  refresh_after: string | null;
}

async function fetchPlayable(clipId: string): Promise<Playable | null> {
  const response = await authed(`/${state.partyId}/playable?clip_id=${encodeURIComponent(clipId)}`);
  if (!response.ok) return null;
  return ((await response.json()) as { data: Playable }).data;
}

/**
 * Parti's media URLs are signed and short-lived. hls.js keeps asking for the URLs it was given (a
 * live playlist every few seconds), so each request is re-signed with the newest URL the server
 * handed out: the playlist itself, and any URL that carried the old signature's values.
 */
const signing = { first: null as URL | null, current: null as URL | null };
function resigned(requestUrl: string): string {
  const { first, current } = signing;
  if (!first || !current || first.href === current.href) return requestUrl;
  const url = new URL(requestUrl);
  if (url.origin === first.origin && url.pathname === first.pathname) return current.href;
  let changed = false;
  for (const [key, value] of first.searchParams) {
    const fresh = current.searchParams.get(key);
    if (fresh !== null && url.searchParams.get(key) === value) {
      url.searchParams.set(key, fresh);
      changed = true;
    }
  }
  return changed ? url.href : requestUrl;
}

/** Asks for a freshly signed URL when the server says the last one is due (`refresh_after`, server clock). */
let refreshTimer: number | undefined;
function scheduleRefresh(clipId: string, refreshAfter: string | null): void {
  window.clearTimeout(refreshTimer);
  if (refreshAfter === null) return;
  const dueInMs = Date.parse(refreshAfter) - (Date.now() + clock.offsetMs);
  refreshTimer = window.setTimeout(
    () => {
      void fetchPlayable(clipId).then((playable) => {
        if (state.loadedClipId !== clipId) return;
        const reached = playable && reach.media(playable.url);
        if (reached && 'url' in reached) signing.current = new URL(reached.url, location.href);
        // A failed refresh is tried again shortly; the URL in use is still good for a while.
        scheduleRefresh(clipId, playable?.refresh_after ?? new Date(Date.now() + clock.offsetMs + 5000).toISOString());
      });
    },
    Math.max(1000, dueInMs),
  );
}

/**
 * The live clip's content position of currentTime 0 (minus the epoch), from hls.js's fragments: a
 * fragment's program date (or its sequence number × the target duration) is the content time of its
 * first frame, and hls.js places that frame at `start` on this page's timeline. The fragment under
 * the playhead is used once there is one: its start is measured from the media, not estimated.
 */
function liveShift(details: LevelDetails, live: LiveClock): number | null {
  const at = video.currentTime;
  const fragments = details.fragments;
  const fragment = fragments.find((f) => at >= f.start && at < f.start + f.duration) ?? fragments.at(-1);
  if (!fragment) return null;
  const content =
    live.clock === 'pdt' ? (fragment.programDateTime ?? Number.NaN) / 1000 : Number(fragment.sn) * live.target_duration;
  return Number.isFinite(content) ? content - fragment.start - live.epoch : null;
}

export async function loadClip(clipId: string | null, reload = false): Promise<void> {
  if (clipId === state.loadedClipId && !reload) return;
  state.loadedClipId = clipId;
  hls?.destroy();
  hls = null;
  window.clearTimeout(refreshTimer);
  video.removeAttribute('src');
  video.load();
  const live = state.queue.find((clip) => clip.id === clipId)?.live ?? null;
  media.shift = live ? null : 0;
  if (!clipId) return;
  const playable = await fetchPlayable(clipId);
  if (state.loadedClipId !== clipId) return;
  if (!playable) {
    showNotice(TEXT.mediaFailed);
    state.loadedClipId = null;
    window.setTimeout(() => void loadClip(state.currentClipId), 3000);
    return;
  }
  const reached = reach.media(playable.url);
  if ('refused' in reached) return showNotice(reached.refused);
  signing.first = signing.current = new URL(reached.url, location.href);
  const start = controller.targetPosition() ?? 0;
  // hls.js wherever Media Source Extensions exist (it tells this page where live content is); the
  // native element elsewhere (an iPhone's Safari).
  if (playable.media_type === 'hls' && ('MediaSource' in window || 'ManagedMediaSource' in window)) {
    const { default: Hls } = await import('hls.js');
    if (state.loadedClipId !== clipId) return;
    const instance = new Hls({
      // A live clip starts wherever hls.js likes; the sync engine seeks once the content is mapped.
      startPosition: live ? -1 : start,
      enableWorker: true,
      lowLatencyMode: false,
      xhrSetup: (xhr, url) => xhr.open('GET', reach.request(resigned(url)), true),
    });
    hls = instance;
    instance.on(Hls.Events.ERROR, (_event, info) => {
      if (!info.fatal) return;
      if (info.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
      else {
        showNotice(TEXT.mediaFailed);
        state.loadedClipId = null;
        window.setTimeout(() => void loadClip(state.currentClipId), 2000);
      }
    });
    if (live) {
      const map = (): void => {
        const details = instance.levels[instance.currentLevel]?.details ?? instance.levels[0]?.details;
        const shift = details ? liveShift(details, live) : null;
        if (shift !== null) media.shift = shift;
      };
      instance.on(Hls.Events.LEVEL_UPDATED, map);
      instance.on(Hls.Events.FRAG_CHANGED, map);
    }
    instance.loadSource(reached.url);
    instance.attachMedia(video);
    scheduleRefresh(clipId, playable.refresh_after);
  } else {
    video.src = reached.url;
    if (!live) video.currentTime = start;
  }
}

export function initMedia(): void {
  ui.unmute.addEventListener('click', () => {
    video.muted = false;
    ui.unmuteBanner.hidden = true;
  });
  ui.joinPlayback.addEventListener('click', () => {
    video.muted = false;
    ui.overlay.hidden = true;
    ui.unmuteBanner.hidden = true;
    void video.play().catch(() => {
      ui.overlay.hidden = false;
    });
    controller.tick();
  });
  video.addEventListener('seeked', () => controller.onSeeked());
  video.addEventListener('loadeddata', () => controller.mediaLoaded());
  video.addEventListener('loadedmetadata', () => {
    // The native element (no hls.js) knows a live stream's program date only as getStartDate().
    const live = state.queue.find((clip) => clip.id === state.loadedClipId)?.live;
    if (hls || !live || media.shift !== null) return;
    const startDate = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.().getTime();
    media.shift =
      live.clock === 'pdt' && startDate !== undefined && Number.isFinite(startDate) ? startDate / 1000 - live.epoch : 0;
  });
  video.addEventListener('loadedmetadata', () => {
    // The host's player knows the clip's real length; the server clamps positions to it.
    const clipId = state.currentClipId;
    if (!clipId || !isController() || reportedDuration === clipId || !Number.isFinite(video.duration)) return;
    const clip = state.queue.find((candidate) => candidate.id === clipId);
    if (clip?.live) return; // a live stream has no length, only a window
    const known = clip?.duration;
    reportedDuration = clipId;
    if (known === null || known === undefined)
      send({ type: 'clip-duration', clip_id: clipId, duration: video.duration });
  });

  // The page's CSP lists the media origins queued when it loaded; a clip added later from a new origin
  // is allowed after one reload (the token is kept in sessionStorage, so the reload rejoins silently).
  document.addEventListener('securitypolicyviolation', (event) => {
    if (event.effectiveDirective !== 'media-src' && event.effectiveDirective !== 'connect-src') return;
    const key = `watch-party-csp-reload:${event.blockedURI}`;
    if (sessionStorage.getItem(key)) return;
    sessionStorage.setItem(key, '1');
    location.reload();
  });
}
