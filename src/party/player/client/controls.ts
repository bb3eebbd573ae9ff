// The controls: sound and full screen (anyone's own), the host's playback controls and clip form
// (the server refuses them from viewers; the page does not even offer them), the viewer's Sync now,
// the invite link, and the keyboard.
import { authed } from './api.js';
import { showNotice, ui, video } from './dom.js';
import { controller } from './media.js';
import { pingBurst } from './playback.js';
import { send } from './socket.js';
import { isController, state } from './state.js';
import { TEXT } from './strings.js';

/** Shows what this page's role may do. */
export function renderRole(): void {
  ui.controls.hidden = !isController();
  ui.addClip.hidden = !isController();
  ui.copyInvite.hidden = !isController();
  ui.viewerControls.hidden = isController();
  document.body.dataset.role = state.me.role;
}

// ---------------------------------------------------------------------------------------------
// Sound and full screen: anyone's own, nothing to do with the party. The volume is remembered.

const VOLUME_KEY = 'watch-party-volume';
function renderSound(): void {
  ui.mute.setAttribute('aria-pressed', String(video.muted || video.volume === 0));
  ui.volume.value = String(video.muted ? 0 : video.volume);
}
function toggleMute(): void {
  video.muted = !video.muted;
  if (!video.muted) {
    if (video.volume === 0) video.volume = 0.5;
    ui.unmuteBanner.hidden = true;
  }
}

function toggleFullscreen(): void {
  if (document.fullscreenElement) {
    void document.exitFullscreen();
    return;
  }
  // The player (the picture, its controls and the chat overlay), so overlays stay on top of the
  // picture; an iPhone only lets the video itself go full screen.
  if (ui.player.requestFullscreen) void ui.player.requestFullscreen().catch(() => undefined);
  else (video as HTMLVideoElement & { webkitEnterFullscreen?: () => void }).webkitEnterFullscreen?.();
}

function initSound(): void {
  video.volume = Math.min(1, Math.max(0, Number(localStorage.getItem(VOLUME_KEY) ?? 1) || 0));
  video.addEventListener('volumechange', renderSound);
  ui.mute.addEventListener('click', toggleMute);
  ui.volume.addEventListener('input', () => {
    video.volume = Number(ui.volume.value);
    video.muted = video.volume === 0;
    if (!video.muted) ui.unmuteBanner.hidden = true;
    localStorage.setItem(VOLUME_KEY, String(video.volume));
  });
  ui.fullscreen.addEventListener('click', toggleFullscreen);
  document.addEventListener('fullscreenchange', () => {
    ui.fullscreen.setAttribute('aria-pressed', String(document.fullscreenElement !== null));
  });
  renderSound();
}

// ---------------------------------------------------------------------------------------------
// Host controls

function seekTo(position: number): void {
  const duration = controller.current?.duration ?? (Number.isFinite(video.duration) ? video.duration : null);
  const clamped = Math.max(0, duration !== null ? Math.min(position, Math.max(0, duration - 0.5)) : position);
  send({ type: 'seek', position: Math.round(clamped * 1000) / 1000 });
}

function initHostControls(): void {
  ui.toggle.addEventListener('click', () =>
    send({ type: controller.current?.playing || state.holdingFor !== null ? 'pause' : 'play' }),
  );
  ui.back.addEventListener('click', () => seekTo((controller.targetPosition() ?? 0) - 10));
  ui.fwd.addEventListener('click', () => seekTo((controller.targetPosition() ?? 0) + 10));
  ui.skip.addEventListener('click', () => send({ type: 'skip' }));
  ui.goLive.addEventListener('click', () => send({ type: 'go-live' }));
  ui.seek.addEventListener('input', () => {
    state.seekDragging = true;
  });
  ui.seek.addEventListener('change', () => {
    state.seekDragging = false;
    seekTo(Number(ui.seek.value));
  });
  ui.copyInvite.addEventListener('click', () => {
    const link = state.inviteUrl || location.origin + location.pathname;
    navigator.clipboard.writeText(link).then(
      () => showNotice(TEXT.copied),
      () => showNotice(TEXT.copyByHand(link)),
    );
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
    void authed(`/${state.partyId}/clips`, {
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
}

// Keyboard: F and M for anyone; Space and ←/→ move the party, so only for hosts and co-hosts. Keys
// typed into a field, or Space on a focused button (which presses it), are left to the browser.
function initKeyboard(): void {
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
}

export function initControls(): void {
  initSound();
  initHostControls();
  initKeyboard();
}
