// The Parti push-socket listener: keeps one WebSocket to Parti's push feed open for as long as the
// bot runs, subscribes to go-live notifications on every (re)connect, and emits each parsed go-live.
// Parti's server can be silent for hours and answers no application-level ping, so liveness is
// checked with WebSocket protocol pings; a dead socket is terminated and replaced, with exponential
// backoff and jitter between attempts so an outage or a Cloudflare challenge never becomes a tight loop.
// Duplicates are not filtered here, and gaps while disconnected are not covered here: the alert
// service dedups with its store and reads the live list over HTTP on every `connected`.
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { PARTI_BROWSER_HEADERS } from './client.js';
import { parseGoLive, SUBSCRIBE_NEW_CHANNEL_LIVE, type GoLive } from './schemas.js';

const DEFAULT_PING_INTERVAL_MS = 30_000;
const DEFAULT_BACKOFF_INITIAL_MS = 1_000;
const DEFAULT_BACKOFF_MAX_MS = 60_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
/** Go-live messages are a few hundred bytes; anything near this is not for us. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** How long stop() waits for the server to answer the close frame before cutting the socket. */
const STOP_GRACE_MS = 2_000;
const SNIPPET_CHARS = 120;
const SUBSCRIBE_MESSAGE = JSON.stringify(SUBSCRIBE_NEW_CHANNEL_LIVE);

export interface LiveFeedOptions {
  /** PARTI_WS_URL, e.g. wss://ws-backend.parti.com/ */
  url: string;
  /** PARTI_PROXY_URL: an HTTP(S) proxy that the socket is tunnelled through with CONNECT. */
  proxyUrl?: string | undefined;
  logger: Logger;
  /** A protocol ping every this often; no pong by the next one means the socket is dead. */
  pingIntervalMs?: number | undefined;
  backoff?: { initialMs?: number | undefined; maxMs?: number | undefined } | undefined;
  /** Deadline for TCP + proxy tunnel + TLS + upgrade of one attempt. */
  connectTimeoutMs?: number | undefined;
}

export interface LiveFeedConnectedInfo {
  /** False only for the first connection after start(). */
  reconnect: boolean;
  /** Which try since the last healthy connection this is (1 = first try). */
  attempt: number;
}

export interface LiveFeedDisconnectedInfo {
  code?: number;
  reason?: string;
  error?: string;
}

export interface LiveFeedReconnectingInfo {
  /** The attempt that will run after the delay. */
  attempt: number;
  delayMs: number;
  /** Why the previous attempt or connection ended. */
  error?: string;
}

export interface LiveFeedEvents {
  goLive: [event: GoLive];
  connected: [info: LiveFeedConnectedInfo];
  disconnected: [info: LiveFeedDisconnectedInfo];
  reconnecting: [info: LiveFeedReconnectingInfo];
}

export interface LiveFeed extends EventEmitter<LiveFeedEvents> {
  /** Connects and keeps connected until stop(). Calling it while running does nothing. */
  start(): void;
  /** Closes the socket and cancels any reconnect; resolves once the socket is closed. */
  stop(): Promise<void>;
  /** Open and subscribed. */
  readonly connected: boolean;
}

/**
 * Equal jitter: half the exponential step is fixed, half random. Unlike full jitter the delay
 * never collapses to ~0 (no tight loop against a failing host), and consecutive delays never
 * shrink until the cap is reached.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

type ConnectCallback = (error: Error | null, socket?: Duplex) => void;

/**
 * A ws `createConnection` that opens a CONNECT tunnel through `proxy` and, for wss, runs TLS to
 * the target inside it. ws hands it to http(s).request, which accepts an asynchronous connection
 * through the callback. Aborting `signal` tears down a tunnel still being set up.
 */
function tunnelThroughProxy(proxy: URL, secure: boolean, signal: AbortSignal) {
  return (options: { host?: string | null; port?: number | string | null }, callback: ConnectCallback): undefined => {
    const host = options.host ?? 'localhost';
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port ?? (secure ? 443 : 80)}`;
    const headers: Record<string, string> = { host: target };
    if (proxy.username || proxy.password) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    const proxySecure = proxy.protocol === 'https:';
    const request = (proxySecure ? https : http).request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.port || (proxySecure ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
    });
    const onAbort = (): void => {
      request.destroy(new Error('proxy tunnel aborted'));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });

    request.once('connect', (response, socket: Socket, head: Buffer) => {
      signal.removeEventListener('abort', onAbort);
      if (response.statusCode !== 200) {
        socket.destroy();
        callback(new Error(`proxy answered ${response.statusCode} to CONNECT ${target}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      if (!secure) {
        callback(null, socket);
        return;
      }
      callback(null, tls.connect({ socket, servername: isIP(host) ? '' : host, ALPNProtocols: ['http/1.1'] }));
    });
    request.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      callback(new Error(`proxy tunnel failed: ${error.message}`));
    });
    request.end();
    return undefined;
  };
}

function snippet(text: string): string {
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
}

function rawBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Per-socket state; a new one for every attempt so stale callbacks cannot touch the current socket. */
interface Attempt {
  ws: WebSocket;
  /** The start() this socket belongs to; a socket left over from before a stop() must not reconnect. */
  run: number;
  number: number;
  abort: AbortController;
  opened: boolean;
  openedAt: number;
  awaitingPong: boolean;
  error: string | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  pingTimer: NodeJS.Timeout | undefined;
}

class PartiLiveFeed extends EventEmitter<LiveFeedEvents> implements LiveFeed {
  private readonly url: string;
  /** For logs: the URL itself could carry credentials. */
  private readonly host: string;
  private readonly secure: boolean;
  private readonly proxy: URL | undefined;
  private readonly log: Logger;
  private readonly pingIntervalMs: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly connectTimeoutMs: number;

  private running = false;
  private run = 0;
  private current: Attempt | undefined;
  /** Tries since the last connection that proved healthy (answered a ping). */
  private failures = 0;
  private everConnected = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(options: LiveFeedOptions) {
    super();
    const url = new URL(options.url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`live feed URL must be ws: or wss:`);
    this.url = url.href;
    this.host = url.host;
    this.secure = url.protocol === 'wss:';
    if (options.proxyUrl) {
      const proxy = new URL(options.proxyUrl);
      if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')
        throw new Error('proxy URL must be http: or https:');
      this.proxy = proxy;
    }
    this.log = options.logger;
    this.pingIntervalMs = options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS;
    this.initialMs = options.backoff?.initialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxMs = Math.max(options.backoff?.maxMs ?? DEFAULT_BACKOFF_MAX_MS, this.initialMs);
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  }

  get connected(): boolean {
    return this.current?.opened === true && this.current.ws.readyState === WebSocket.OPEN;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.run += 1;
    this.failures = 0;
    this.everConnected = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const attempt = this.current;
    if (!attempt) return;
    clearTimeout(attempt.connectTimer);
    clearInterval(attempt.pingTimer);
    const { ws } = attempt;
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    let force: NodeJS.Timeout | undefined;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'client stopping');
      // A server that never answers the close frame would otherwise hold stop() for ws's 30 s.
      force = setTimeout(() => ws.terminate(), STOP_GRACE_MS);
    } else {
      attempt.abort.abort();
      ws.terminate();
    }
    await closed;
    clearTimeout(force);
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (!this.running) return;
    this.failures += 1;
    const abort = new AbortController();
    const clientOptions: ClientOptions = {
      origin: PARTI_BROWSER_HEADERS.origin,
      headers: {
        'user-agent': PARTI_BROWSER_HEADERS['user-agent'],
        'accept-language': PARTI_BROWSER_HEADERS['accept-language'],
        'cache-control': 'no-cache',
        pragma: 'no-cache',
      },
      maxPayload: MAX_PAYLOAD_BYTES,
      followRedirects: false,
    };
    if (this.proxy) {
      // ws types this as net.createConnection; Node's http client also takes the callback form.
      clientOptions.createConnection = tunnelThroughProxy(
        this.proxy,
        this.secure,
        abort.signal,
      ) as unknown as ClientOptions['createConnection'];
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, clientOptions);
    } catch (error) {
      this.scheduleReconnect(describe(error));
      return;
    }
    const attempt: Attempt = {
      ws,
      run: this.run,
      number: this.failures,
      abort,
      opened: false,
      openedAt: 0,
      awaitingPong: false,
      error: undefined,
      connectTimer: undefined,
      pingTimer: undefined,
    };
    this.current = attempt;
    attempt.connectTimer = setTimeout(() => {
      attempt.error ??= `handshake timed out after ${this.connectTimeoutMs} ms`;
      abort.abort();
      ws.terminate();
    }, this.connectTimeoutMs);

    ws.on('unexpected-response', (_request, response) => {
      const challenge = response.headers['cf-mitigated'] === 'challenge';
      attempt.error ??= `upgrade answered HTTP ${response.statusCode}${challenge ? ' (Cloudflare challenge)' : ''}`;
      response.resume();
      ws.terminate();
    });
    ws.on('error', (error) => {
      // Only the first error explains the failure; ws follows up with generic ones.
      attempt.error ??= describe(error);
    });
    ws.on('open', () => this.onOpen(attempt));
    ws.on('pong', () => {
      attempt.awaitingPong = false;
      // A round trip on this socket: it is healthy, so the next outage starts from a short delay.
      this.failures = 0;
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.onClose(attempt, code, reason.toString()));
  }

  private onOpen(attempt: Attempt): void {
    clearTimeout(attempt.connectTimer);
    attempt.opened = true;
    attempt.openedAt = Date.now();
    const { ws } = attempt;
    ws.send(SUBSCRIBE_MESSAGE);
    attempt.pingTimer = setInterval(() => {
      if (attempt.awaitingPong) {
        clearInterval(attempt.pingTimer);
        attempt.error ??= `no pong within ${this.pingIntervalMs} ms`;
        this.log.warn({ pingIntervalMs: this.pingIntervalMs }, 'parti push socket missed a pong; reconnecting');
        ws.terminate();
        return;
      }
      attempt.awaitingPong = true;
      ws.ping();
    }, this.pingIntervalMs);

    const info: LiveFeedConnectedInfo = { reconnect: this.everConnected, attempt: attempt.number };
    this.everConnected = true;
    this.log.info(
      { ...info, host: this.host, proxy: this.proxy !== undefined },
      'parti push socket connected and subscribed',
    );
    this.guard('connected', () => this.emit('connected', info));
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!this.running) return;
    const bytes = rawBytes(data);
    if (isBinary) {
      this.log.debug({ bytes: bytes.length }, 'parti push socket: ignored a binary message');
      return;
    }
    const text = bytes.toString('utf8');
    const event = parseGoLive(text);
    if (!event) {
      this.log.debug(
        { bytes: bytes.length, snippet: snippet(text) },
        'parti push socket: ignored a non-go-live message',
      );
      return;
    }
    this.guard('goLive', () => this.emit('goLive', event));
  }

  private onClose(attempt: Attempt, code: number, reason: string): void {
    clearTimeout(attempt.connectTimer);
    clearInterval(attempt.pingTimer);
    if (this.current === attempt) this.current = undefined;
    const live = this.running && attempt.run === this.run;
    const error = attempt.error;
    if (attempt.opened) {
      const info: LiveFeedDisconnectedInfo = { code };
      if (reason) info.reason = reason;
      if (error) info.error = error;
      const upMs = Date.now() - attempt.openedAt;
      if (live) this.log.warn({ ...info, upMs }, 'parti push socket disconnected');
      else this.log.info({ ...info, upMs }, 'parti push socket closed');
      this.guard('disconnected', () => this.emit('disconnected', info));
    }
    if (!live) return;
    this.scheduleReconnect(error ?? (attempt.opened ? `closed with code ${code}` : `failed with code ${code}`));
  }

  private scheduleReconnect(error: string): void {
    const delayMs = backoffDelay(this.failures, this.initialMs, this.maxMs);
    const info: LiveFeedReconnectingInfo = { attempt: this.failures + 1, delayMs, error };
    this.log.warn(info, 'parti push socket reconnecting after a delay');
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
    this.guard('reconnecting', () => this.emit('reconnecting', info));
  }

  /** A listener that throws must not take the socket's event loop, or the process, down with it. */
  private guard(event: keyof LiveFeedEvents, emit: () => void): void {
    try {
      emit();
    } catch (error) {
      this.log.error({ err: error, event }, 'live feed listener threw');
    }
  }
}

export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  return new PartiLiveFeed(options);
}
