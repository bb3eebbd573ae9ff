// The companion web player's browser code (bundled by esbuild into dist/party/player/assets): joins
// a party from its link, keeps the video on the party's timeline through the sync engine, shows the
// queue and participants, and gives hosts controls. Everything a user typed is set with textContent.
// This file wires the view modules together: each answers its own socket messages, all share state.ts.
import { chatError, chatHandlers, initChat, renderChatAccess } from './chat.js';
import { ActivityError, inActivity, startActivity } from './activity.js';
import { setUrlPrefix } from './api.js';
import { renderRole, initControls } from './controls.js';
import { showNotice, ui, video } from './dom.js';
import { initGate, join, showGate } from './gate.js';
import { clock, controller, initMedia, reporter, setMediaReach } from './media.js';
import { onPeopleCount, participantHandlers, renderParticipants } from './participants.js';
import { applyPlayback, initPlayback, pingBurst, stopPings } from './playback.js';
import { renderQueue } from './queue.js';
import { floatReaction, initReactions } from './reactions.js';
import { closeSocket, connect, isConnected, setConnection } from './socket.js';
import { state } from './state.js';
import { TEXT } from './strings.js';
import { useActivitySession } from './token.js';
import type { MessageHandlers } from './types.js';

const handlers: MessageHandlers = {
  state: (message) => {
    state.lastSeq = -1;
    const { party, you } = message;
    state.partyId = party.id;
    state.me = you;
    ui.title.textContent = party.title;
    document.title = party.title;
    state.inviteUrl = party.invite_url;
    state.participants.clear();
    for (const p of party.participants) {
      state.participants.set(p.user_id, {
        user_id: p.user_id,
        display_name: p.user.display_name,
        role: p.role,
        guest: p.guest === true,
      });
    }
    state.queue = party.queue;
    state.currentClipId = party.current_clip_id;
    state.waitForEveryone = party.wait_for_everyone === true;
    state.chat = party.chat ?? 'everyone';
    // A new connection: the room may remember what this player said on the last one.
    if (state.waitForEveryone) reporter.resend();
    renderRole();
    renderChatAccess();
    renderParticipants();
    renderQueue();
    applyPlayback(party.playback);
    state.lastSeq = message.seq;
  },
  sync: applyPlayback,
  play: applyPlayback,
  pause: applyPlayback,
  seek: applyPlayback,
  skip: applyPlayback,
  ...participantHandlers(() => {
    renderRole();
    renderChatAccess();
  }),
  ...chatHandlers(),
  'queue-updated': (message) => {
    state.queue = message.queue;
    renderQueue();
  },
  'party-ended': () => {
    state.ended = true;
    setConnection('ended', TEXT.ended);
    controller.clear();
    video.pause();
    closeSocket();
  },
  pong: (message) => clock.addSample(message.client_time, message.server_time_ms, Date.now()),
  reaction: (message) => floatReaction(message.emoji),
  error: (message) => {
    if (chatError(message)) return;
    if (message.request_type === 'reaction' && message.code === 'RATE_LIMITED') showNotice(TEXT.slowDown);
    else if (message.request_type !== 'ping') showNotice(message.message);
  },
};

function enterParty(): void {
  connect({
    handlers,
    opened: () => {
      clock.reset();
      pingBurst();
    },
    closed: stopPings,
    removed: () => {
      controller.clear();
      video.pause();
      showGate(TEXT.removed);
    },
    refused: (reason) => showGate(reason),
  });
}

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
    role: state.me.role,
    connected: isConnected(),
    clipId: state.loadedClipId,
    muted: video.muted,
    buffering: reporter.buffering,
  }),
};

initControls();
initReactions();
initChat();
initMedia();
initPlayback();
initGate(enterParty);

/** Opened by Discord as an Activity: sign in through Discord first, then the same party page. */
async function openActivity(): Promise<void> {
  try {
    const activity = await startActivity();
    setUrlPrefix(activity.apiBase);
    useActivitySession(activity.session.invite_code, activity.session.token);
    setMediaReach(activity.mediaUrl, activity.requestUrl);
    onPeopleCount((count) => activity.setPresence(ui.title.textContent ?? '', count));
  } catch (error) {
    showGate(error instanceof ActivityError ? error.message : TEXT.activityFailed);
    return;
  }
  await join(enterParty);
}

if (inActivity()) void openActivity();
else void join(enterParty);
