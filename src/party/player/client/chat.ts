// The party chat (issue 16; the contract is the server's protocol.ts): a panel beside the video,
// below it on a phone, and over the picture in full screen when shown; messages as plain text with
// http(s) links, who is typing, a delete for one's own messages (a host's or co-host's: anyone's),
// and the box, closed with the reason when the party's chat setting keeps this viewer silent.
// Nothing anyone typed is ever parsed as HTML: text nodes, and <a> built from a parsed URL.
import { ui } from './dom.js';
import { isConnected, send } from './socket.js';
import { isController, state } from './state.js';
import { TEXT } from './strings.js';
import type { ChatMessage, ChatSetting, MessageHandlers } from './types.js';

/** The page says it is typing at most this often while the box has text and focus. */
const TYPING_EVERY_MS = 3000;
/** Someone's "typing" ends this long after their last one (the server relays one per 2 s at most). */
const TYPING_EXPIRES_MS = 6000;
/** The list keeps the history's 100 and some more; older ones leave the page. */
const MAX_MESSAGES = 300;
/** Within this many pixels of the end counts as reading the latest. */
const AT_END_PX = 24;
const STATUS_MS = 6000;
const SHOWN_KEY = 'watch-party-chat-shown';

// ---------------------------------------------------------------------------------------------
// Messages

/** http(s) URLs in a message; what follows is trimmed off the end of each (see linkEnd). */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;

/** Sentence punctuation after a link is not part of it, nor a closing bracket it does not open. */
function linkEnd(candidate: string): string {
  let text = candidate;
  for (;;) {
    const last = text.at(-1);
    const unbalanced =
      (last === ')' && text.split('(').length < text.split(')').length) ||
      (last === ']' && text.split('[').length < text.split(']').length);
    if (last === undefined || !(".,;:!?'".includes(last) || unbalanced)) return text;
    text = text.slice(0, -1);
  }
}

/** The message as text nodes, with each http(s) URL an <a> that opens apart from the page. */
function messageNodes(text: string): Node[] {
  const nodes: Node[] = [];
  let done = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const link = linkEnd(match[0]);
    if (!URL.canParse(link)) continue;
    const url = new URL(link);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') continue;
    if (match.index > done) nodes.push(document.createTextNode(text.slice(done, match.index)));
    const anchor = document.createElement('a');
    anchor.href = url.href;
    anchor.target = '_blank';
    anchor.rel = 'noopener noreferrer nofollow ugc';
    anchor.textContent = link;
    nodes.push(anchor);
    done = match.index + link.length;
  }
  if (done < text.length) nodes.push(document.createTextNode(text.slice(done)));
  return nodes;
}

function clockTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** The author deletes their own; a host or co-host anyone's (the server decides; the page offers no more). */
function mayDelete(authorId: string): boolean {
  return authorId === state.me.user_id || isController();
}

function deleteButton(name: string, messageId: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'chat-delete';
  button.textContent = TEXT.chatDelete;
  button.setAttribute('aria-label', TEXT.chatDeleteLabel(name));
  button.addEventListener('click', () => {
    button.disabled = true;
    send({ type: 'chat_delete', message_id: messageId });
  });
  return button;
}

function messageItem(message: ChatMessage): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'chat-message';
  item.dataset.messageId = message.id;
  item.dataset.userId = message.user_id;
  item.dataset.name = message.display_name;
  if (message.user_id === state.me.user_id) item.classList.add('own');
  const head = document.createElement('div');
  head.className = 'chat-head';
  const name = document.createElement('span');
  name.className = 'chat-name';
  name.textContent = message.display_name;
  head.append(name);
  if (message.source === 'discord') {
    const via = document.createElement('span');
    via.className = 'chat-via';
    via.textContent = TEXT.chatFromDiscord;
    via.title = TEXT.chatFromDiscordLabel;
    head.append(via);
  }
  const time = document.createElement('time');
  time.dateTime = message.created_at;
  time.textContent = clockTime(message.created_at);
  head.append(time);
  const text = document.createElement('p');
  text.className = 'chat-text';
  text.append(...messageNodes(message.message));
  item.append(head, text);
  renderDelete(item);
  return item;
}

/** Adds or takes away an item's delete button as this page's role allows. */
function renderDelete(item: HTMLElement): void {
  const { messageId, userId, name } = item.dataset;
  const existing = item.querySelector('.chat-delete');
  const allowed = userId !== undefined && mayDelete(userId);
  if (!allowed) existing?.remove();
  else if (!existing && messageId && name !== undefined)
    item.querySelector('.chat-head')?.append(deleteButton(name, messageId));
}

// ---------------------------------------------------------------------------------------------
// Scrolling: the list follows new messages while its reader is at the end; scrolled up, a marker
// counts what came in below instead.

let unseen = 0;

function atEnd(): boolean {
  const log = ui.chatLog;
  return log.scrollHeight - log.scrollTop - log.clientHeight <= AT_END_PX;
}

function renderUnseen(): void {
  ui.chatNew.hidden = unseen === 0;
  ui.chatNew.textContent = TEXT.chatNew(unseen);
  ui.chatNew.setAttribute('aria-label', TEXT.chatNewLabel(unseen));
}

function scrollToLatest(): void {
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  unseen = 0;
  renderUnseen();
}

function addMessage(message: ChatMessage): void {
  if (ui.chatLog.querySelector(`[data-message-id="${CSS.escape(message.id)}"]`)) return;
  const following = atEnd();
  ui.chatLog.append(messageItem(message));
  while (ui.chatLog.childElementCount > MAX_MESSAGES) ui.chatLog.firstElementChild?.remove();
  // One's own message always brings the list to the end: it answers what one just did.
  if (following || message.user_id === state.me.user_id) scrollToLatest();
  else {
    unseen += 1;
    renderUnseen();
  }
}

// ---------------------------------------------------------------------------------------------
// Who is typing (others: the server never sends a page its own)

const typers = new Map<string, { name: string; timer: number }>();

function renderTyping(): void {
  ui.chatTyping.textContent = typers.size ? TEXT.chatTyping([...typers.values()].map((typer) => typer.name)) : '';
}

function setTyping(userId: string, name: string, typing: boolean): void {
  const known = typers.get(userId);
  if (known) window.clearTimeout(known.timer);
  if (typing) {
    const timer = window.setTimeout(() => {
      typers.delete(userId);
      renderTyping();
    }, TYPING_EXPIRES_MS);
    typers.set(userId, { name, timer });
  } else typers.delete(userId);
  renderTyping();
}

let typingSentAt = Number.NEGATIVE_INFINITY;
let typingOn = false;

function typed(): void {
  if (!ui.chatInput.value.trim() || document.activeElement !== ui.chatInput) return stoppedTyping();
  if (Date.now() - typingSentAt < TYPING_EVERY_MS) return;
  typingSentAt = Date.now();
  typingOn = true;
  send({ type: 'typing', is_typing: true });
}

function stoppedTyping(): void {
  if (!typingOn) return;
  typingOn = false;
  send({ type: 'typing', is_typing: false });
}

// ---------------------------------------------------------------------------------------------
// The box

let statusTimer: number | undefined;
function showStatus(text: string): void {
  window.clearTimeout(statusTimer);
  ui.chatStatus.textContent = text;
  statusTimer = window.setTimeout(() => {
    ui.chatStatus.textContent = '';
  }, STATUS_MS);
}

/** Why this page may not write, or null: the setting is off, or for members and this is a guest. */
function silentReason(setting: ChatSetting): string | null {
  if (setting === 'off') return TEXT.chatOff;
  if (setting === 'members' && state.participants.get(state.me.user_id)?.guest === true) return TEXT.chatMembersOnly;
  return null;
}

/** The box open or closed with its reason, and the delete buttons this role may use. */
export function renderChatAccess(): void {
  const reason = silentReason(state.chat);
  ui.chatInput.disabled = reason !== null;
  ui.chatSend.disabled = reason !== null;
  ui.chatReason.textContent = reason ?? '';
  ui.chatReason.hidden = reason === null;
  if (reason !== null) stoppedTyping();
  for (const item of ui.chatLog.children) if (item instanceof HTMLElement) renderDelete(item);
}

/** What was last sent, put back in an emptied box when the server refuses it. */
let lastSent = '';

function submit(event: SubmitEvent): void {
  event.preventDefault();
  const message = ui.chatInput.value.trim();
  if (!message || ui.chatInput.disabled) return;
  if (!isConnected()) return showStatus(TEXT.chatNotConnected);
  send({ type: 'chat', message });
  lastSent = ui.chatInput.value;
  ui.chatInput.value = '';
  stoppedTyping();
}

/** A refused chat, delete or typing: said next to the box, not in the page's notice. False: not chat's. */
export function chatError(error: { code: string; message: string; request_type: string | null }): boolean {
  const type = error.request_type;
  if (type !== 'chat' && type !== 'chat_delete' && type !== 'typing') return false;
  if (type === 'typing') return true;
  if (type === 'chat' && !ui.chatInput.value && lastSent) ui.chatInput.value = lastSent;
  if (type === 'chat_delete')
    for (const button of ui.chatLog.querySelectorAll('button.chat-delete')) {
      (button as HTMLButtonElement).disabled = false;
    }
  showStatus(
    error.code === 'CHAT_RATE_LIMITED'
      ? TEXT.chatRateLimited
      : error.code === 'CHAT_NOT_ALLOWED'
        ? (silentReason(state.chat) ?? TEXT.chatNotAllowed)
        : error.message,
  );
  return true;
}

// ---------------------------------------------------------------------------------------------
// Where the panel is: in the side column, or over the picture while the player is full screen.

let shown = localStorage.getItem(SHOWN_KEY) !== 'false';

function placeChat(): void {
  const overlay = document.fullscreenElement === ui.player;
  const home = overlay ? ui.videoWrap : ui.side;
  if (ui.chat.parentElement !== home) {
    if (overlay) home.append(ui.chat);
    else home.prepend(ui.chat);
    // A moved list starts at its top: back to the latest.
    scrollToLatest();
  }
  ui.chat.classList.toggle('overlay', overlay);
  ui.chat.hidden = !shown;
  ui.chatToggle.setAttribute('aria-pressed', String(shown));
}

export function chatHandlers(): Pick<
  MessageHandlers,
  'chat_history' | 'chat_message' | 'chat_deleted' | 'typing' | 'chat_settings'
> {
  return {
    chat_history: (message) => {
      state.chat = message.chat;
      ui.chatLog.replaceChildren(...message.messages.slice(-MAX_MESSAGES).map(messageItem));
      renderChatAccess();
      scrollToLatest();
    },
    chat_message: (message) => {
      setTyping(message.chat_message.user_id, message.chat_message.display_name, false);
      addMessage(message.chat_message);
    },
    chat_deleted: (message) => {
      ui.chatLog.querySelector(`[data-message-id="${CSS.escape(message.message_id)}"]`)?.remove();
      if (atEnd() && unseen) scrollToLatest();
    },
    typing: (message) => setTyping(message.user_id, message.display_name, message.is_typing),
    chat_settings: (message) => {
      state.chat = message.chat;
      renderChatAccess();
    },
  };
}

export function initChat(): void {
  ui.chatForm.addEventListener('submit', submit);
  ui.chatInput.addEventListener('input', typed);
  ui.chatInput.addEventListener('blur', stoppedTyping);
  ui.chatLog.addEventListener('scroll', () => {
    if (unseen && atEnd()) {
      unseen = 0;
      renderUnseen();
    }
  });
  ui.chatNew.addEventListener('click', scrollToLatest);
  ui.chatToggle.addEventListener('click', () => {
    shown = !shown;
    localStorage.setItem(SHOWN_KEY, String(shown));
    placeChat();
    if (shown) scrollToLatest();
  });
  document.addEventListener('fullscreenchange', placeChat);
  placeChat();
}
