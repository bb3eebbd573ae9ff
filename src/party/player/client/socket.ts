// The party socket: connects with the page's token, reconnects with backoff, sends, and hands each
// message to the view that answers it (main.ts gathers the handlers). The connection pill is here too.
import { socketUrl } from './api.js';
import { ui } from './dom.js';
import { state } from './state.js';
import { TEXT } from './strings.js';
import { getToken } from './token.js';
import type { MessageHandlers, ServerMessage } from './types.js';

/** How the server closes a removed member's socket (owner.ts). */
const REMOVED_CLOSE_CODE = 4003;
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];

export interface SocketHooks {
  handlers: MessageHandlers;
  /** Each time a socket opens (the first and every reconnect). */
  opened(): void;
  /** Each time the current socket closes, whatever follows. */
  closed(): void;
  /** The host removed this member: no reconnect. */
  removed(): void;
  /** The server refused the socket before any state (the token, or one player too many). */
  refused(reason: string): void;
}

let ws: WebSocket | null = null;
let reconnectAttempt = 0;

export function send(message: Record<string, unknown>): void {
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

export function isConnected(): boolean {
  return ws?.readyState === WebSocket.OPEN;
}

/** The party ended: close for good (state.ended stops the reconnect). */
export function closeSocket(): void {
  ws?.close(1000);
}

export function setConnection(state: 'connecting' | 'connected' | 'reconnecting' | 'ended', text: string): void {
  ui.conn.dataset.state = state;
  ui.conn.textContent = text;
}

function dispatch(handlers: MessageHandlers, message: ServerMessage): void {
  // One handler per type (the cast is what a switch over the union would narrow to); a type this page
  // does not know (a newer server) is ignored.
  const handler = (handlers as Partial<Record<string, (message: ServerMessage) => void>>)[message.type];
  handler?.(message);
}

export function connect(hooks: SocketHooks): void {
  setConnection(reconnectAttempt ? 'reconnecting' : 'connecting', TEXT.connecting);
  const socket = new WebSocket(socketUrl(state.partyId), ['watch-party.v1', `bearer.${getToken() ?? ''}`]);
  ws = socket;
  socket.addEventListener('open', () => {
    reconnectAttempt = 0;
    setConnection('connected', TEXT.connected);
    hooks.opened();
  });
  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    dispatch(hooks.handlers, JSON.parse(event.data) as ServerMessage);
  });
  socket.addEventListener('close', (event) => {
    if (ws !== socket) return;
    ws = null;
    hooks.closed();
    if (state.ended) return;
    if (event.code === REMOVED_CLOSE_CODE) {
      hooks.removed();
      return;
    }
    // 1008 with no state received means the server refused this socket (the token, or one player too
    // many): a reconnect would be refused too.
    if (event.code === 1008 && state.lastSeq < 0) {
      hooks.refused(event.reason || TEXT.expired);
      return;
    }
    const base = RECONNECT_DELAYS_MS[Math.min(reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)] ?? 15000;
    const delay = base * (0.8 + Math.random() * 0.4);
    reconnectAttempt += 1;
    setConnection('reconnecting', TEXT.reconnecting(Math.ceil(delay / 1000)));
    window.setTimeout(() => connect(hooks), delay);
  });
}
