// The page's elements, looked up once (the HTML shell is in ../routes.ts), and the passing notice
// every view may show.

export function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element;
}

export const video = $('video') as HTMLVideoElement;
export const ui = {
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
  player: $('player'),
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
  side: $('side'),
  chat: $('chat'),
  chatToggle: $('chat-toggle') as HTMLButtonElement,
  chatLog: $('chat-log'),
  chatNew: $('chat-new') as HTMLButtonElement,
  chatTyping: $('chat-typing'),
  chatReason: $('chat-reason'),
  chatForm: $('chat-form') as HTMLFormElement,
  chatInput: $('chat-input') as HTMLInputElement,
  chatSend: $('chat-send') as HTMLButtonElement,
  chatStatus: $('chat-status'),
};

export function showNotice(text: string): void {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  window.setTimeout(() => {
    if (ui.notice.textContent === text) ui.notice.hidden = true;
  }, 5000);
}
