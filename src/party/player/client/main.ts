// The companion web player's browser code (bundled by esbuild into dist/party/player/assets): joins
// a party from its link, keeps the video on the party's timeline through the sync engine, shows the
// queue and participants, and gives hosts controls. Everything a user typed is set with textContent.
import type HlsType from 'hls.js';
import type { LevelDetails } from 'hls.js';
import { REACTIONS, type ReactionEmoji } from '../../reactions.js';
import { PAGE_TOKEN_COOKIE, PAGE_TOKEN_META, pagePath } from '../pageToken.js';
import { BufferingReporter, ClockSync, SYNC_TUNING, SyncController, type MediaLike, type Timeline } from '../sync.js';
import { ActivityError, inActivity, startActivity, type Activity } from './activity.js';

type Role = 'host' | 'co-host' | 'viewer';
interface Participant {
  user_id: string;
  display_name: string;
  role: Role;
}
/** A live clip's shared content clock (see src/party/hls.ts); positions are content seconds after `epoch`. */
interface LiveClock {
  clock: 'pdt' | 'sequence';
  epoch: number;
  target_duration: number;
}
interface Clip {
  id: string;
  title: string;
  media_type: 'hls' | 'mp4' | 'webm';
  duration: number | null;
  live?: LiveClock | null;
}
interface Playback {
  party_id: string;
  clip_id: string | null;
  position: number;
  is_playing: boolean;
  playback_rate: number;
  anchor_position: number;
  anchor_server_time_ms: number;
  duration: number | null;
  seq: number;
  /** Wait for everyone: stopped for these members, not by a host (absent from older servers). */
  hold?: boolean;
  waiting_for?: Array<{ user_id: string; display_name: string }>;
  /** A live clip's window at server_time_ms, in positions; it slides on at 1 s/s. */
  live?: { start: number; live_point: number; edge: number } | null;
  server_time_ms: number;
  reason?: 'live-window' | null;
}
interface PartyDetail {
  id: string;
  title: string;
  invite_url: string;
  visibility: 'public' | 'private';
  invite_code: string;
  participants: Array<{ user_id: string; role: Role; user: { display_name: string } }>;
  queue: Clip[];
  current_clip_id: string | null;
  wait_for_everyone?: boolean;
  playback: Playback;
}
type ServerMessage =
  | ({ type: 'sync' | 'play' | 'pause' | 'seek' | 'skip' } & Playback)
  | { type: 'state'; seq: number; you: { user_id: string; role: Role }; party: PartyDetail }
  | { type: 'participant-joined' | 'participant-left' | 'role-changed'; seq: number; participant: Participant }
  | { type: 'queue-updated'; seq: number; queue: Clip[]; current_clip_id: string | null }
  | { type: 'party-ended'; seq: number; reason: 'host' | 'idle' }
  | { type: 'pong'; client_time: number; server_time_ms: number }
  | { type: 'reaction'; user_id: string; emoji: ReactionEmoji }
  | { type: 'error'; code: string; message: string; request_type: string | null };

// User-facing strings in one place, for translation later.
const TEXT = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: (seconds: number) => `Reconnecting in ${seconds} s…`,
  ended: 'This party has ended.',
  // A private party and a missing one are the same answer to someone without a way in.
  notFoundOrPrivate: (code: string) =>
    `No party to show here: it has ended, the link is wrong, or it is private. Members of a private party get their own link in Discord with /party join code:${code}.`,
  expired: 'Your link has expired. Ask Discord for a new one with /party join.',
  removed: 'The host removed you from this party.',
  remove: 'Remove',
  removeLabel: (name: string) => `Remove ${name} from the party`,
  confirmRemove: 'Remove?',
  confirmRemoveLabel: (name: string) => `Confirm: remove ${name} from the party; they cannot come back`,
  nothingPlaying: 'Nothing is playing yet.',
  play: 'Play',
  pause: 'Pause',
  inSync: (ms: number) => `In sync (${ms >= 0 ? '+' : ''}${ms} ms)`,
  syncing: (ms: number) => `Syncing (${ms >= 0 ? '+' : ''}${ms} ms)`,
  buffering: 'Buffering…',
  waiting: 'Waiting…',
  waitingFor: (names: string[]) =>
    `Waiting for ${names.length <= 2 ? names.join(' and ') : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more`}…`,
  youWaitedFor: 'you',
  roles: { host: 'host', 'co-host': 'co-host', viewer: 'viewer' } satisfies Record<Role, string>,
  you: ' (you)',
  mediaFailed: 'The video could not be loaded; retrying…',
  guestPrompt: 'Pick the name the others will see, and join the party.',
  react: (name: string) => `React: ${name}`,
  slowDown: 'Easy on the reactions: one a second.',
  gateAbout: (count: number, playing: string | null) =>
    `${count} watching${playing ? ` · now playing ${playing}` : ''}`,
  people: (count: number) => `${count} watching`,
  peopleLabel: (count: number) => `${count} ${count === 1 ? 'person' : 'people'} in the party`,
  copied: 'Invite link copied.',
  copyByHand: (link: string) => `Copy this invite link: ${link}`,
  live: 'LIVE',
  behindLive: (seconds: number) => `${seconds} s behind live`,
  backToLive: 'The stream moved on while the party was stopped: back to live.',
  activityFailed: 'Could not open the party inside Discord. Close the Activity and open it again.',
} as const;

// Inside Discord (activity.ts) every path goes through Discord's proxy: the prefix is set at sign-in.
let API = '/api/v1/watch-parties';
/** How the server closes a removed member's socket (owner.ts). */
const REMOVED_CLOSE_CODE = 4003;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element;
}

const video = $('video') as HTMLVideoElement;
const ui = {
  title: $('title'),
  conn: $('conn-status'),
  sync: $('sync-status'),
  nowPlaying: $('now-playing'),
  queue: $('queue'),
  participants: $('participants'),
  controls: $('controls'),
  toggle: $('play-toggle') as HTMLButtonElement,
  seek: $('seek') as HTMLInputElement,
  time: $('time'),
  back: $('back10') as HTMLButtonElement,
  fwd: $('fwd10') as HTMLButtonElement,
  skip: $('skip') as HTMLButtonElement,
  goLive: $('go-live') as HTMLButtonElement,
  addClip: $('add-clip') as HTMLFormElement,
  clipUrl: $('clip-url') as HTMLInputElement,
  viewerControls: $('viewer-controls'),
  syncNow: $('sync-now') as HTMLButtonElement,
  unmuteBanner: $('unmute-banner'),
  unmute: $('unmute') as HTMLButtonElement,
  overlay: $('join-overlay'),
  joinPlayback: $('join-playback') as HTMLButtonElement,
  loading: $('loading'),
  people: $('people'),
  copyInvite: $('copy-invite') as HTMLButtonElement,
  videoWrap: $('video-wrap'),
  reactions: $('reactions'),
  reactionLayer: $('reaction-layer'),
  mute: $('mute') as HTMLButtonElement,
  volume: $('volume') as HTMLInputElement,
  fullscreen: $('fullscreen') as HTMLButtonElement,
  gate: $('gate'),
  gateAbout: $('gate-about'),
  gateText: $('gate-text'),
  guestForm: $('guest-form') as HTMLFormElement,
  guestName: $('guest-name') as HTMLInputElement,
  notice: $('notice'),
  app: $('app'),
};

/** Opened by Discord as an Activity: the code and token come from signing in through Discord (activity.ts). */
const activityMode = inActivity();
let activity: Activity | null = null;
let code = activityMode ? '' : decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const tokenKey = `watch-party-token:${code.toUpperCase()}`;

/** The token arrives in the fragment (never sent to a server); keep it for reloads, then hide it. */
function takeToken(): string | null {
  const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  if (match?.[1]) {
    sessionStorage.setItem(tokenKey, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(tokenKey);
}

/**
 * The page keeps its token in a cookie on its own path too: the server then lets this page's CSP name
 * the media origins of the party's queue when it is loaded again (pageToken.ts). Null forgets it.
 */
function keepPageToken(value: string | null): void {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  const lifetime = value ? `Max-Age=${12 * 60 * 60}` : 'Max-Age=0';
  document.cookie = `${PAGE_TOKEN_COOKIE}=${value ?? ''}; Path=${pagePath(code)}; ${lifetime}; SameSite=Strict${secure}`;
}

let token = activityMode ? null : takeToken();
if (token) keepPageToken(token);

/**
 * A page served before the server saw its token (a first visit, or just after a guest join) has a CSP
 * that names no media of the party: it loads itself again, once, now that the cookie is set.
 */
function reloadForMedia(): boolean {
  const taken = document.querySelector(`meta[name="${PAGE_TOKEN_META}"]`)?.getAttribute('content') === 'taken';
  const once = `watch-party-page-reload:${code.toUpperCase()}`;
  if (!token || taken || sessionStorage.getItem(once)) return false;
  sessionStorage.setItem(once, '1');
  location.reload();
  return true;
}
let partyId = '';
let me = { user_id: '', role: 'viewer' as Role };
let lastSeq = -1;
let ws: WebSocket | null = null;
let reconnectAttempt = 0;
let inviteUrl = '';
let ended = false;
let queue: Clip[] = [];
let currentClipId: string | null = null;
let loadedClipId: string | null = null;
let hls: HlsType | null = null;
let reportedDuration: string | null = null;
let seekDragging = false;
/** The live window from the last playback message, and when (client clock) it was received. */
let liveWindow: { start: number; live_point: number; edge: number; at: number } | null = null;
/** Wait for everyone: the party's setting, and who the room is holding for (null: not holding). */
let waitForEveryone = false;
let holdingFor: Array<{ user_id: string; display_name: string }> | null = null;
const participants = new Map<string, Participant>();
const clock = new ClockSync();

function showNotice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  window.setTimeout(() => {
    if (ui.notice.textContent === text) ui.notice.hidden = true;
  }, 5000);
}

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

ui.unmute.addEventListener('click', () => {
  video.muted = false;
  ui.unmuteBanner.hidden = true;
});

// ---------------------------------------------------------------------------------------------
// Sound and full screen: anyone's own, nothing to do with the party. The volume is remembered.

const VOLUME_KEY = 'watch-party-volume';
video.volume = Math.min(1, Math.max(0, Number(localStorage.getItem(VOLUME_KEY) ?? 1) || 0));
function renderSound(): void {
  ui.mute.setAttribute('aria-pressed', String(video.muted || video.volume === 0));
  ui.volume.value = String(video.muted ? 0 : video.volume);
}
video.addEventListener('volumechange', renderSound);
function toggleMute(): void {
  video.muted = !video.muted;
  if (!video.muted) {
    if (video.volume === 0) video.volume = 0.5;
    ui.unmuteBanner.hidden = true;
  }
}
ui.mute.addEventListener('click', toggleMute);
ui.volume.addEventListener('input', () => {
  video.volume = Number(ui.volume.value);
  video.muted = video.volume === 0;
  if (!video.muted) ui.unmuteBanner.hidden = true;
  localStorage.setItem(VOLUME_KEY, String(video.volume));
});

function toggleFullscreen(): void {
  if (document.fullscreenElement) {
    void document.exitFullscreen();
    return;
  }
  // The wrapper, so overlays stay on top of the picture; an iPhone only lets the video itself go full screen.
  if (ui.videoWrap.requestFullscreen) void ui.videoWrap.requestFullscreen().catch(() => undefined);
  else (video as HTMLVideoElement & { webkitEnterFullscreen?: () => void }).webkitEnterFullscreen?.();
}
ui.fullscreen.addEventListener('click', toggleFullscreen);
document.addEventListener('fullscreenchange', () => {
  ui.fullscreen.setAttribute('aria-pressed', String(document.fullscreenElement !== null));
});
renderSound();

// ---------------------------------------------------------------------------------------------
// Reactions: anyone may send one of a fixed set; the server sends it to every page (the sender's
// too), where it floats up over the video. Only emoji from the set are ever put on the page.

const MAX_FLOATING = 24;
ui.reactions.replaceChildren(
  ...REACTIONS.map(({ emoji, name }) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'reaction';
    button.textContent = emoji;
    button.setAttribute('aria-label', TEXT.react(name));
    button.title = name;
    button.addEventListener('click', () => send({ type: 'reaction', emoji }));
    return button;
  }),
);

function floatReaction(emoji: ReactionEmoji): void {
  if (!REACTIONS.some((reaction) => reaction.emoji === emoji)) return;
  while (ui.reactionLayer.childElementCount >= MAX_FLOATING) ui.reactionLayer.firstElementChild?.remove();
  const item = document.createElement('span');
  item.className = 'floating-reaction';
  item.textContent = emoji;
  // A little spread, so a burst from several people does not stack into one column.
  item.style.left = `${8 + Math.random() * 84}%`;
  item.addEventListener('animationend', () => item.remove());
  ui.reactionLayer.append(item);
}
ui.joinPlayback.addEventListener('click', () => {
  video.muted = false;
  ui.overlay.hidden = true;
  ui.unmuteBanner.hidden = true;
  void video.play().catch(() => {
    ui.overlay.hidden = false;
  });
  controller.tick();
});

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

const controller = new SyncController({ media, clock, now: () => Date.now(), play: requestPlay });
const reporter = new BufferingReporter({
  media: video,
  now: () => Date.now(),
  send: (buffering) => send({ type: 'buffering', buffering }),
});
video.addEventListener('seeked', () => controller.onSeeked());
for (const event of ['playing', 'canplay', 'seeked', 'waiting'] as const) video.addEventListener(event, () => tick());

// ---------------------------------------------------------------------------------------------
// Rendering

function isController(): boolean {
  return me.role === 'host' || me.role === 'co-host';
}

function formatTime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

function renderRole(): void {
  ui.controls.hidden = !isController();
  ui.addClip.hidden = !isController();
  ui.copyInvite.hidden = !isController();
  ui.viewerControls.hidden = isController();
  document.body.dataset.role = me.role;
}

function renderParticipants(): void {
  const items = [...participants.values()].sort((a, b) => rank(a.role) - rank(b.role));
  ui.people.textContent = TEXT.people(items.length);
  activity?.setPresence(ui.title.textContent ?? '', items.length);
  ui.people.setAttribute('aria-label', TEXT.peopleLabel(items.length));
  ui.participants.replaceChildren(
    ...items.map((p) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = p.display_name + (p.user_id === me.user_id ? TEXT.you : '');
      const role = document.createElement('span');
      role.className = `role role-${p.role}`;
      role.textContent = TEXT.roles[p.role];
      li.append(name, role);
      if (mayRemove(p)) li.append(removeButton(p));
      return li;
    }),
  );
}

/** The host removes anyone else; a co-host, viewers (the server decides; the page offers no more). */
function mayRemove(p: Participant): boolean {
  if (p.user_id === me.user_id || p.role === 'host') return false;
  return me.role === 'host' || (me.role === 'co-host' && p.role === 'viewer');
}

/** Two presses: Remove, then Remove? (the person cannot come back, so a slip must not do it). */
function removeButton(p: Participant): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'remove';
  button.textContent = TEXT.remove;
  button.setAttribute('aria-label', TEXT.removeLabel(p.display_name));
  button.addEventListener('click', () => {
    if (button.dataset.armed !== 'true') {
      button.dataset.armed = 'true';
      button.textContent = TEXT.confirmRemove;
      button.setAttribute('aria-label', TEXT.confirmRemoveLabel(p.display_name));
      return;
    }
    button.disabled = true;
    void authed(`/${partyId}/kick`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: p.user_id }),
    }).then(async (response) => {
      if (response.ok) return;
      button.disabled = false;
      const failure = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
      showNotice(failure?.error?.message ?? `HTTP ${response.status}`);
    });
  });
  return button;
}

function rank(role: Role): number {
  return role === 'host' ? 0 : role === 'co-host' ? 1 : 2;
}

function renderQueue(): void {
  ui.queue.replaceChildren(
    ...queue.map((clip) => {
      const li = document.createElement('li');
      li.textContent = clip.title;
      if (clip.id === currentClipId) {
        li.className = 'current';
        li.setAttribute('aria-current', 'true');
      }
      return li;
    }),
  );
  const current = queue.find((clip) => clip.id === currentClipId);
  ui.nowPlaying.textContent = current ? current.title : TEXT.nothingPlaying;
}

/** The live window now (it slides on at 1 s/s from the last message), or null for a recording. */
function liveNow(): { start: number; live_point: number; edge: number } | null {
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
    if (!seekDragging) ui.seek.value = String(target);
    const behind = Math.round(live.live_point - target);
    ui.time.textContent = behind <= 1 ? TEXT.live : TEXT.behindLive(behind);
    ui.time.dataset.live = String(behind <= 1);
  } else {
    ui.seek.min = '0';
    if (duration) ui.seek.max = String(duration);
    if (!seekDragging) ui.seek.value = String(target);
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
      holdingFor.map((who) => (who.user_id === me.user_id ? TEXT.youWaitedFor : who.display_name)),
    );
  else if (stats.stalled) ui.sync.textContent = TEXT.buffering;
  else if (drift !== null)
    ui.sync.textContent = Math.abs(drift) <= SYNC_TUNING.inSyncMs ? TEXT.inSync(drift) : TEXT.syncing(drift);
}

function setConnection(state: 'connecting' | 'connected' | 'reconnecting' | 'ended', text: string): void {
  ui.conn.dataset.state = state;
  ui.conn.textContent = text;
}

// Never a silently stuck player: an element that has had no data to play for this long gets its
// source reloaded at the party's position (hls.js can wedge after seeks on a poor connection).
const STUCK_RELOAD_MS = 3000;
let starvedSince: number | null = null;

let wakeTimer: number | undefined;
function tick(): void {
  const action = controller.tick();
  // HAVE_CURRENT_DATA or more means a frame is there (a landing may hold it paused on purpose).
  const starved = loadedClipId !== null && video.readyState < 2 && action !== 'idle';
  starvedSince = starved ? (starvedSince ?? Date.now()) : null;
  if (starvedSince !== null && Date.now() - starvedSince > STUCK_RELOAD_MS) {
    starvedSince = null;
    void loadClip(currentClipId, true);
  }
  if (waitForEveryone)
    reporter.update(Boolean(controller.current?.playing) || holdingFor !== null, holdingFor !== null);
  if (controller.wakeInMs !== null) {
    // A landing wants to start playback at an exact moment, finer than the tick interval.
    window.clearTimeout(wakeTimer);
    wakeTimer = window.setTimeout(tick, controller.wakeInMs);
  }
  renderPlayback();
}
window.setInterval(tick, SYNC_TUNING.tickMs);

// ---------------------------------------------------------------------------------------------
// Media loading: hls.js for HLS (loaded only when needed), the native element for MP4/WebM.

async function authed(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${API}${path}`, { ...init, headers });
}

interface Playable {
  url: string;
  media_type: 'hls' | 'mp4' | 'webm';
  refresh_after: string | null;
}

async function fetchPlayable(clipId: string): Promise<Playable | null> {
  const response = await authed(`/${partyId}/playable?clip_id=${encodeURIComponent(clipId)}`);
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
        if (loadedClipId !== clipId) return;
        const reach = playable && reachable(playable.url);
        if (reach && 'url' in reach) signing.current = new URL(reach.url, location.href);
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

/** Where the page fetches a media URL from: itself, or inside Discord its proxied form, if any. */
const reachable = (url: string): { url: string } | { refused: string } => (activity ? activity.mediaUrl(url) : { url });

async function loadClip(clipId: string | null, reload = false): Promise<void> {
  if (clipId === loadedClipId && !reload) return;
  loadedClipId = clipId;
  hls?.destroy();
  hls = null;
  window.clearTimeout(refreshTimer);
  video.removeAttribute('src');
  video.load();
  const live = queue.find((clip) => clip.id === clipId)?.live ?? null;
  media.shift = live ? null : 0;
  if (!clipId) return;
  const playable = await fetchPlayable(clipId);
  if (loadedClipId !== clipId) return;
  if (!playable) {
    showNotice(TEXT.mediaFailed);
    loadedClipId = null;
    window.setTimeout(() => void loadClip(currentClipId), 3000);
    return;
  }
  const reach = reachable(playable.url);
  if ('refused' in reach) return showNotice(reach.refused);
  signing.first = signing.current = new URL(reach.url, location.href);
  const start = controller.targetPosition() ?? 0;
  // hls.js wherever Media Source Extensions exist (it tells this page where live content is); the
  // native element elsewhere (an iPhone's Safari).
  if (playable.media_type === 'hls' && ('MediaSource' in window || 'ManagedMediaSource' in window)) {
    const { default: Hls } = await import('hls.js');
    if (loadedClipId !== clipId) return;
    const instance = new Hls({
      // A live clip starts wherever hls.js likes; the sync engine seeks once the content is mapped.
      startPosition: live ? -1 : start,
      enableWorker: true,
      lowLatencyMode: false,
      xhrSetup: (xhr, url) => xhr.open('GET', activity ? activity.requestUrl(resigned(url)) : resigned(url), true),
    });
    hls = instance;
    instance.on(Hls.Events.ERROR, (_event, info) => {
      if (!info.fatal) return;
      if (info.type === Hls.ErrorTypes.MEDIA_ERROR) instance.recoverMediaError();
      else {
        showNotice(TEXT.mediaFailed);
        loadedClipId = null;
        window.setTimeout(() => void loadClip(currentClipId), 2000);
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
    instance.loadSource(reach.url);
    instance.attachMedia(video);
    scheduleRefresh(clipId, playable.refresh_after);
  } else {
    video.src = reach.url;
    if (!live) video.currentTime = start;
  }
}

video.addEventListener('loadeddata', () => controller.mediaLoaded());
video.addEventListener('loadedmetadata', () => {
  // The native element (no hls.js) knows a live stream's program date only as getStartDate().
  const live = queue.find((clip) => clip.id === loadedClipId)?.live;
  if (hls || !live || media.shift !== null) return;
  const startDate = (video as HTMLVideoElement & { getStartDate?: () => Date }).getStartDate?.().getTime();
  media.shift =
    live.clock === 'pdt' && startDate !== undefined && Number.isFinite(startDate) ? startDate / 1000 - live.epoch : 0;
});
video.addEventListener('emptied', () => {
  starvedSince = null;
});
video.addEventListener('loadedmetadata', () => {
  // The host's player knows the clip's real length; the server clamps positions to it.
  const clipId = currentClipId;
  if (!clipId || !isController() || reportedDuration === clipId || !Number.isFinite(video.duration)) return;
  const clip = queue.find((candidate) => candidate.id === clipId);
  if (clip?.live) return; // a live stream has no length, only a window
  const known = clip?.duration;
  reportedDuration = clipId;
  if (known === null || known === undefined) send({ type: 'clip-duration', clip_id: clipId, duration: video.duration });
});

// ---------------------------------------------------------------------------------------------
// Socket

function send(message: Record<string, unknown>): void {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

let pingTimer: number | undefined;
function pingBurst(): void {
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

function applyPlayback(message: Playback): void {
  if (message.seq < lastSeq) return;
  lastSeq = message.seq;
  const timeline: Timeline = {
    clipId: message.clip_id,
    anchorPosition: message.anchor_position,
    anchorServerTimeMs: message.anchor_server_time_ms,
    rate: message.playback_rate,
    playing: message.is_playing,
    duration: message.duration,
  };
  const changed = timeline.clipId !== currentClipId;
  currentClipId = timeline.clipId;
  holdingFor = message.hold === true ? (message.waiting_for ?? []) : null;
  // The window was where it says at server_time_ms; on this page's clock that was offset earlier.
  liveWindow = message.live ? { ...message.live, at: message.server_time_ms - clock.offsetMs } : null;
  if (message.reason === 'live-window') showNotice(TEXT.backToLive);
  controller.setTimeline(timeline);
  if (changed) renderQueue();
  void loadClip(currentClipId);
  tick();
}

function onMessage(message: ServerMessage): void {
  switch (message.type) {
    case 'state': {
      lastSeq = -1;
      const { party, you } = message;
      partyId = party.id;
      me = you;
      ui.title.textContent = party.title;
      document.title = party.title;
      inviteUrl = party.invite_url;
      participants.clear();
      for (const p of party.participants) {
        participants.set(p.user_id, { user_id: p.user_id, display_name: p.user.display_name, role: p.role });
      }
      queue = party.queue;
      currentClipId = party.current_clip_id;
      waitForEveryone = party.wait_for_everyone === true;
      // A new connection: the room may remember what this player said on the last one.
      if (waitForEveryone) reporter.resend();
      renderRole();
      renderParticipants();
      renderQueue();
      applyPlayback(party.playback);
      lastSeq = message.seq;
      return;
    }
    case 'sync':
    case 'play':
    case 'pause':
    case 'seek':
    case 'skip':
      applyPlayback(message);
      return;
    case 'participant-joined':
    case 'role-changed':
      participants.set(message.participant.user_id, message.participant);
      if (message.participant.user_id === me.user_id) {
        me = { ...me, role: message.participant.role };
        renderRole();
      }
      renderParticipants();
      return;
    case 'participant-left':
      participants.delete(message.participant.user_id);
      renderParticipants();
      return;
    case 'queue-updated':
      queue = message.queue;
      renderQueue();
      return;
    case 'party-ended':
      ended = true;
      setConnection('ended', TEXT.ended);
      controller.clear();
      video.pause();
      ws?.close(1000);
      return;
    case 'pong':
      clock.addSample(message.client_time, message.server_time_ms, Date.now());
      return;
    case 'reaction':
      floatReaction(message.emoji);
      return;
    case 'error':
      if (message.request_type === 'reaction' && message.code === 'RATE_LIMITED') showNotice(TEXT.slowDown);
      else if (message.request_type !== 'ping') showNotice(message.message);
      return;
  }
}

function connect(): void {
  setConnection(reconnectAttempt ? 'reconnecting' : 'connecting', TEXT.connecting);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}${API}/${partyId}/ws`, [
    'watch-party.v1',
    `bearer.${token ?? ''}`,
  ]);
  ws = socket;
  socket.addEventListener('open', () => {
    reconnectAttempt = 0;
    setConnection('connected', TEXT.connected);
    clock.reset();
    pingBurst();
  });
  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    onMessage(JSON.parse(event.data) as ServerMessage);
  });
  socket.addEventListener('close', (event) => {
    if (ws !== socket) return;
    ws = null;
    window.clearTimeout(pingTimer);
    if (ended) return;
    if (event.code === REMOVED_CLOSE_CODE) {
      controller.clear();
      video.pause();
      showGate(TEXT.removed);
      return;
    }
    // 1008 with no state received means the server refused this socket (the token, or one player too
    // many): a reconnect would be refused too.
    if (event.code === 1008 && lastSeq < 0) {
      showGate(event.reason || TEXT.expired);
      return;
    }
    const base = RECONNECT_DELAYS_MS[Math.min(reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)] ?? 15000;
    const delay = base * (0.8 + Math.random() * 0.4);
    reconnectAttempt += 1;
    setConnection('reconnecting', TEXT.reconnecting(Math.ceil(delay / 1000)));
    window.setTimeout(connect, delay);
  });
}

// A hidden tab's timers are throttled and its video may be paused by the browser: re-sync on return.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible') return;
  controller.mediaLoaded();
  send({ type: 'sync-request' });
  pingBurst();
  tick();
});

// ---------------------------------------------------------------------------------------------
// Host controls (the server refuses them from viewers; the page does not even offer them)

function seekTo(position: number): void {
  const duration = controller.current?.duration ?? (Number.isFinite(video.duration) ? video.duration : null);
  const clamped = Math.max(0, duration !== null ? Math.min(position, Math.max(0, duration - 0.5)) : position);
  send({ type: 'seek', position: Math.round(clamped * 1000) / 1000 });
}

ui.toggle.addEventListener('click', () =>
  send({ type: controller.current?.playing || holdingFor !== null ? 'pause' : 'play' }),
);
ui.back.addEventListener('click', () => seekTo((controller.targetPosition() ?? 0) - 10));
ui.fwd.addEventListener('click', () => seekTo((controller.targetPosition() ?? 0) + 10));
ui.skip.addEventListener('click', () => send({ type: 'skip' }));
ui.goLive.addEventListener('click', () => send({ type: 'go-live' }));
ui.seek.addEventListener('input', () => {
  seekDragging = true;
});
ui.seek.addEventListener('change', () => {
  seekDragging = false;
  seekTo(Number(ui.seek.value));
});
ui.copyInvite.addEventListener('click', () => {
  const link = inviteUrl || location.origin + location.pathname;
  navigator.clipboard.writeText(link).then(
    () => showNotice(TEXT.copied),
    () => showNotice(TEXT.copyByHand(link)),
  );
});

// Keyboard: F and M for anyone; Space and ←/→ move the party, so only for hosts and co-hosts. Keys
// typed into a field, or Space on a focused button (which presses it), are left to the browser.
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || ui.app.hidden) return;
  const target = event.target as HTMLElement | null;
  if (target?.closest('input, textarea, select, [contenteditable]')) return;
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const host = isController() && controller.current !== null;
  if (key === 'f') toggleFullscreen();
  else if (key === 'm') toggleMute();
  else if (key === ' ' && host && !target?.closest('button')) ui.toggle.click();
  else if (key === 'ArrowLeft' && host) ui.back.click();
  else if (key === 'ArrowRight' && host) ui.fwd.click();
  else return;
  event.preventDefault();
});

ui.syncNow.addEventListener('click', () => {
  controller.mediaLoaded();
  send({ type: 'sync-request' });
  pingBurst();
});
ui.addClip.addEventListener('submit', (event) => {
  event.preventDefault();
  const source = ui.clipUrl.value.trim();
  if (!source) return;
  void authed(`/${partyId}/clips`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ source }),
  }).then(async (response) => {
    if (response.ok) {
      ui.clipUrl.value = '';
      return;
    }
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    showNotice(body?.error?.message ?? `HTTP ${response.status}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Joining: a personal link goes straight in; a public party asks for a name; a private one explains.

/** Before joining there is nothing to be connected to or in sync with: only the title and the gate. */
function showGate(text: string, guest = false): void {
  ui.loading.hidden = true;
  ui.app.hidden = true;
  for (const pill of [ui.people, ui.conn, ui.sync]) pill.hidden = true;
  ui.gate.hidden = false;
  ui.gateText.textContent = text;
  ui.guestForm.hidden = !guest;
}

ui.guestForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.guestName.value.trim();
  if (!name) return;
  void fetch(`${API}/${encodeURIComponent(code)}/guest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ display_name: name }),
  }).then(async (response) => {
    const body = (await response.json().catch(() => null)) as {
      data?: { token: string };
      error?: { message: string };
    } | null;
    if (!response.ok || !body?.data) {
      ui.gateText.textContent = body?.error?.message ?? `HTTP ${response.status}`;
      return;
    }
    token = body.data.token;
    sessionStorage.setItem(tokenKey, token);
    keepPageToken(token);
    if (!reloadForMedia()) void start();
  });
});

async function start(): Promise<void> {
  if (activityMode && !activity) {
    try {
      activity = await startActivity();
    } catch (error) {
      return showGate(error instanceof ActivityError ? error.message : TEXT.activityFailed);
    }
    ({ invite_code: code, token } = activity.session);
    API = activity.apiBase + API;
  }
  // Inside Discord every media origin is the page's own (the proxy): no reload for the CSP.
  if (!activity && reloadForMedia()) return;
  const response = await authed(`/by-code/${encodeURIComponent(code)}`);
  if (response.status === 401 && token) {
    sessionStorage.removeItem(tokenKey);
    keepPageToken(null);
    token = null;
    return start();
  }
  const body = (await response.json().catch(() => null)) as {
    data?: PartyDetail;
    error?: { code?: string; message?: string };
  } | null;
  if (response.status === 429) return showGate(body?.error?.message ?? `HTTP ${response.status}`);
  if (body?.error?.code === 'REMOVED') return showGate(TEXT.removed);
  if (!response.ok || !body?.data) return showGate(TEXT.notFoundOrPrivate(code.toUpperCase()));
  ui.title.textContent = body.data.title;
  document.title = body.data.title;
  if (!token) {
    const playing = body.data.queue.find((clip) => clip.id === body.data?.current_clip_id)?.title ?? null;
    ui.gateAbout.textContent = TEXT.gateAbout(body.data.participants.length, playing);
    ui.gateAbout.hidden = false;
    return showGate(TEXT.guestPrompt, true);
  }
  partyId = body.data.id;
  ui.loading.hidden = true;
  ui.gate.hidden = true;
  ui.app.hidden = false;
  for (const pill of [ui.people, ui.conn, ui.sync]) pill.hidden = false;
  connect();
}

// The page's CSP lists the media origins queued when it loaded; a clip added later from a new origin
// is allowed after one reload (the token is kept in sessionStorage, so the reload rejoins silently).
document.addEventListener('securitypolicyviolation', (event) => {
  if (event.effectiveDirective !== 'media-src' && event.effectiveDirective !== 'connect-src') return;
  const key = `watch-party-csp-reload:${event.blockedURI}`;
  if (sessionStorage.getItem(key)) return;
  sessionStorage.setItem(key, '1');
  location.reload();
});

declare global {
  interface Window {
    /** Read-only numbers for tests and the benchmark; nothing here changes playback. */
    partyPlayer: { stats(): Record<string, unknown> };
  }
}
window.partyPlayer = {
  stats: () => ({
    ...controller.snapshot,
    offsetMs: clock.offsetMs,
    rttMs: clock.rttMs,
    role: me.role,
    connected: ws?.readyState === WebSocket.OPEN,
    clipId: loadedClipId,
    muted: video.muted,
    buffering: reporter.buffering,
  }),
};

void start();
