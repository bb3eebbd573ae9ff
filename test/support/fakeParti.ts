// A fake parti.com on 127.0.0.1 for tests, including end-to-end tests of the real bot process.
// Each of Parti's hosts is its own listener (its own port), so a test can take one offline and the
// bot sees a refused connection: three API hosts at the real paths under /parti_v2/profile/… (the
// two newest serve user_id_from_name, the captured api-backend layout does not), the push socket,
// and two media hosts serving the same files for the web player. State is seeded from
// test/fixtures/parti and is plain data that tests change directly or through the helpers; faults
// are injected per route.
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { UserProfile } from '../../src/parti/schemas.js';

export const PARTI_FIXTURES_DIR = fileURLToPath(new URL('../fixtures/parti/', import.meta.url));

/** A fixture's parsed JSON (a fresh copy on every call). */
export function loadPartiFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(path.join(PARTI_FIXTURES_DIR, name), 'utf8')) as T;
}

/** Parti's hosts as the fake serves them; API hosts newest first, as the bot's default list has them. */
export const FAKE_PARTI_API_HOSTS = ['prod-api', 'api', 'api-backend'] as const;
export const FAKE_PARTI_MEDIA_HOSTS = ['media', 'watch'] as const;
export type FakePartiApiHost = (typeof FAKE_PARTI_API_HOSTS)[number];
export type FakePartiMediaHost = (typeof FAKE_PARTI_MEDIA_HOSTS)[number];
export type FakePartiHost = FakePartiApiHost | FakePartiMediaHost | 'ws-backend';
const FAKE_PARTI_HOSTS: readonly FakePartiHost[] = [...FAKE_PARTI_API_HOSTS, 'ws-backend', ...FAKE_PARTI_MEDIA_HOSTS];
/** Routes only the newer API hosts serve; the captured api-backend layout answers them 404. */
const NEWER_ROUTES: ReadonlySet<FakePartiRoute> = new Set(['user_id_from_name']);

export type FakePartiRoute =
  | 'user_profile'
  | 'social'
  | 'user_id_from_name'
  | 'channel_info'
  | 'live'
  | 'recent'
  | 'recent_by_id'
  | 'calendar'
  | 'categories'
  | 'featured'
  | 'moderators'
  | 'global_moderators'
  | 'feed'
  | 'pinned'
  | 'chat'
  | 'chat_settings'
  | 'currency'
  | 'asset_prices'
  | 'media'
  | 'unknown';

export type FakePartiFault =
  | { kind: 'challenge' }
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'rate_limit'; retryAfterSeconds: number }
  | { kind: 'slow'; ms: number }
  | { kind: 'malformed' }
  | { kind: 'reset' };

export interface RecordedRequest {
  /** Which of Parti's hosts was asked. */
  host: FakePartiHost;
  method: string;
  /** The raw path as sent, percent-encoding intact (`…/discord/drb666%230`). */
  path: string;
  /** Raw path and query. */
  url: string;
  route: FakePartiRoute;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  at: number;
}

type Json = Record<string, unknown>;

/** What a test may say about a live stream; everything defaults sensibly. */
export interface FakeLiveInfo {
  event_id?: number;
  event_title?: string;
  category_name?: string;
  category_id?: number;
  viewers_count?: number;
  user_name?: string;
  livestream_id?: number;
  /** ISO 8601; default now. */
  start_time?: string;
  /** Default `${mediaUrl}/live/{userId}/master.m3u8`, so the player can be pointed at setMediaDir files. */
  playback_url?: string;
  playback_auth_token?: string;
  avatar_link?: string;
  event_file?: string;
  /** Extra fields for the /live list item. */
  [extra: string]: unknown;
}

interface LiveState {
  userId: number;
  eventId: number;
  eventTitle: string;
  categoryName: string;
  categoryId: number | undefined;
  viewers: number;
  userName: string;
  livestreamId: number;
  startTime: string;
  playbackUrl: string;
  playbackToken: string;
  avatarLink: string | undefined;
  eventFile: string | undefined;
  extra: Json;
}

/** The full go-live push payload, every field the field notes list. */
export interface GoLivePayload {
  livestream_id: number;
  user_id: number;
  user_name: string;
  user_avatar_id: number;
  avatar_link: string;
  event_id: number;
  event_title: string;
  event_file: string;
  category_name: string;
  viewers_count: number;
  social_media: string;
  social_username: string;
  channel_arn: string;
  [extra: string]: unknown;
}

const NOT_FOUND = { detail: 'Not Found' };

const CHALLENGE_PAGE = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content"><h1>api-backend.parti.com</h1>
<h2>Verifying you are human. This may take a few seconds.</h2><noscript>Enable JavaScript and cookies to continue</noscript>
</div></div></body></html>`;

const MIME: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
  '.mp4': 'video/mp4',
  '.aac': 'audio/aac',
  '.vtt': 'text/vtt',
  '.json': 'application/json',
  '.jpg': 'image/jpeg',
  '.png': 'image/png',
  '.html': 'text/html; charset=utf-8',
};

const ROUTES: Array<[RegExp, FakePartiRoute]> = [
  [/^\/parti_v2\/profile\/user_profile\/(\d+)$/, 'user_profile'],
  [/^\/parti_v2\/profile\/user_profile_feed\/(\d+)$/, 'feed'],
  [/^\/parti_v2\/profile\/user_profile_chat\/(\d+)\/public$/, 'chat'],
  [/^\/parti_v2\/profile\/get_user_by_social_media\/([^/]+)\/([^/]+)$/, 'social'],
  [/^\/parti_v2\/profile\/user_id_from_name\/([^/]+)$/, 'user_id_from_name'],
  [/^\/parti_v2\/profile\/get_livestream_channel_info\/live$/, 'live'],
  [/^\/parti_v2\/profile\/get_livestream_channel_info\/recent$/, 'recent'],
  [/^\/parti_v2\/profile\/get_livestream_channel_info\/recent\/(\d+)$/, 'recent_by_id'],
  [/^\/parti_v2\/profile\/get_livestream_channel_info\/(\d+)$/, 'channel_info'],
  [/^\/parti_v2\/profile\/livestream_calendar\/events$/, 'calendar'],
  [/^\/parti_v2\/profile\/livestream_calendar\/events\/categories$/, 'categories'],
  [/^\/parti_v2\/profile\/featured_channels$/, 'featured'],
  [/^\/parti_v2\/profile\/livestream\/moderators\/(\d+)$/, 'moderators'],
  [/^\/parti_v2\/profile\/admin\/global_mod\/list$/, 'global_moderators'],
  [/^\/parti_v2\/profile\/pinned_message\/(\d+)$/, 'pinned'],
  [/^\/parti_v2\/profile\/chat_settings\/(\d+)$/, 'chat_settings'],
  [/^\/parti_v2\/profile\/user_currency_info\/(\d+)$/, 'currency'],
  [/^\/parti_v2\/profile\/assets_prices\/info$/, 'asset_prices'],
];

function classify(host: FakePartiHost, rawPath: string): { route: FakePartiRoute; params: string[] } {
  if (host === 'media' || host === 'watch') return { route: 'media', params: [rawPath.replace(/^\/+/, '')] };
  if (host === 'ws-backend') return { route: 'unknown', params: [] };
  for (const [pattern, route] of ROUTES) {
    const match = pattern.exec(rawPath);
    if (match) return { route, params: match.slice(1) };
  }
  return { route: 'unknown', params: [] };
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const value = Number(query.get(name));
  return query.has(name) && Number.isFinite(value) && value >= 0 ? Math.trunc(value) : fallback;
}

function page<T>(items: T[], query: URLSearchParams, defaultLimit: number): T[] {
  const offset = intParam(query, 'offset', 0);
  const limit = intParam(query, 'limit', defaultLimit);
  return items.slice(offset, offset + limit);
}

/** A ws message's bytes as text. */
export function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

interface Listener {
  server: Server;
  port: number;
  online: boolean;
}

class FakePartiServer {
  /** The newest API host's base (`…/parti_v2`), for tests of one base. */
  readonly apiUrl: string;
  /** Every API host's base, newest first (the order of the bot's default PARTI_API_URL). */
  readonly apiUrls: string[];
  readonly wsUrl: string;
  /** The first media host's base, for tests of one base. */
  readonly mediaUrl: string;
  /** Both media hosts' bases: media.parti.com's, then watch.parti.com's (the default PARTI_MEDIA_URL's order). */
  readonly mediaUrls: string[];

  // ---- data, seeded from the fixtures; tests may change any of it directly ----
  readonly users = new Map<number, UserProfile>();
  /** `${service}:${name}` exactly as decoded (`discord:drb666#0`) → user id. */
  readonly socialLinks = new Map<string, number>();
  /** Page slugs as `user_id_from_name` decodes them (`drb666#0`), lower case → user id; social names answer too. */
  readonly names = new Map<string, number>();
  /** Exact channel-info answers (from fixtures); a user here is answered verbatim until setLive() changes them. */
  readonly channelInfos = new Map<number, unknown>();
  readonly livestreamIds = new Map<number, number>();
  readonly recent = new Map<number, Json>();
  calendar: Json[] = [];
  categories: Json[] = [];
  featured: Json[] = [];
  globalModerators: Json[] = [];
  readonly moderators = new Map<number, Json[]>();
  readonly feeds = new Map<number, Json[]>();
  readonly pinned = new Map<number, unknown[]>();
  readonly chats = new Map<number, Json[]>();
  readonly chatSettings = new Map<number, Json>();
  readonly currency = new Map<number, Json[]>();
  assetPrices: Json[] = [];
  /** Raw answers by raw path (no query), checked before everything else. */
  readonly rawResponses = new Map<string, { status: number; body: string; headers: Record<string, string> }>();

  // ---- recording ----
  readonly requests: RecordedRequest[] = [];
  /** Every message push-socket clients sent, parsed as JSON when possible. */
  readonly subscriptions: unknown[] = [];
  /** When false, the push socket does not answer protocol pings (a dead socket, as the bot sees it). */
  respondToPings = true;
  /** The request headers of every push-socket upgrade the fake accepted, oldest first. */
  readonly wsHandshakes: IncomingHttpHeaders[] = [];

  private readonly live = new Map<number, LiveState>();
  private readonly faults: Array<{ route: FakePartiRoute | '*'; fault: FakePartiFault; remaining: number }> = [];
  private readonly wsState = new Map<WebSocket, { subscribed: boolean }>();
  private readonly subscriptionWaiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly goLiveTemplate: GoLivePayload;
  private readonly mediaDirs = new Map<FakePartiMediaHost, string>();
  private refusing = false;
  private nextEventId = 1;
  private nextLivestreamId = 200000;

  constructor(
    private readonly listeners: ReadonlyMap<FakePartiHost, Listener>,
    private readonly wss: WebSocketServer,
  ) {
    this.apiUrls = FAKE_PARTI_API_HOSTS.map((host) => this.hostUrl(host));
    this.apiUrl = this.hostUrl('prod-api');
    this.wsUrl = this.hostUrl('ws-backend');
    this.mediaUrls = FAKE_PARTI_MEDIA_HOSTS.map((host) => this.hostUrl(host));
    this.mediaUrl = this.hostUrl('media');
    this.goLiveTemplate = loadPartiFixture<GoLivePayload>('ws.new_channel_live_notify.constructed.json');
    this.seed();
    for (const [host, { server }] of listeners) {
      server.on('request', (req, res) => void this.handle(host, req, res));
      server.on('connection', (socket: Socket) => {
        if (this.refusing) socket.destroy();
      });
      server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        if (this.refusing || host !== 'ws-backend') {
          socket.destroy();
          return;
        }
        this.wsHandshakes.push(req.headers);
        wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
      });
    }
  }

  /** A host's base URL: `http://127.0.0.1:{port}/parti_v2` for API hosts, `ws://…/` for the push socket. */
  hostUrl(host: FakePartiHost): string {
    const { port } = this.listener(host);
    if (host === 'ws-backend') return `ws://127.0.0.1:${port}/`;
    return (FAKE_PARTI_API_HOSTS as readonly string[]).includes(host)
      ? `http://127.0.0.1:${port}/parti_v2`
      : `http://127.0.0.1:${port}`;
  }

  private listener(host: FakePartiHost): Listener {
    const listener = this.listeners.get(host);
    if (!listener) throw new Error(`fake Parti has no host ${host}`);
    return listener;
  }

  /**
   * Takes one host offline (its port closed: connections are refused, as with a dead host) or back
   * online on the same port.
   */
  async setOnline(host: FakePartiHost, online: boolean): Promise<void> {
    const listener = this.listener(host);
    if (listener.online === online) return;
    listener.online = online;
    if (online) {
      await listen(listener.server, listener.port);
    } else {
      if (host === 'ws-backend') this.dropSockets();
      listener.server.closeAllConnections();
      await new Promise<void>((resolve) => listener.server.close(() => resolve()));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Seeding

  private seed(): void {
    for (const name of [
      'user_profile.353044.json',
      'user_profile.123456.json',
      'user_profile.465731.json',
      'user_profile.567503.constructed.json',
    ]) {
      this.setUser(loadPartiFixture<UserProfile>(name));
    }
    this.linkSocial('twitter', 'KickBalthierGR', loadPartiFixture<number>('social.twitter.KickBalthierGR.json'));
    this.linkSocial('discord', 'drb666#0', loadPartiFixture<number>('social.discord.drb666_0.json'));
    // Made to match public clients of the newer hosts, not captured (see the fixtures' README).
    this.setUser(loadPartiFixture<UserProfile>('user_profile.881001.from-public-clients.json'));
    const byName = loadPartiFixture<{ user_id: number }>('user_id_from_name.247CryptoTracker.from-public-clients.json');
    this.names.set('247cryptotracker', byName.user_id);

    for (const name of [
      'channel_info.353044.offline.json',
      'channel_info.567503.live.json',
      'channel_info.614111.vod-page.json',
    ]) {
      const info = loadPartiFixture<{ channel_info: { channel: { user_id: number; livestream_id: number } } }>(name);
      const channel = info.channel_info.channel;
      this.channelInfos.set(channel.user_id, info);
      this.livestreamIds.set(channel.user_id, channel.livestream_id);
    }

    this.categories = loadPartiFixture<Json[]>('categories.json');
    this.calendar = loadPartiFixture<Json[]>('calendar_events.json');
    this.featured = loadPartiFixture<Json[]>('featured_channels.json');
    this.globalModerators = loadPartiFixture<Json[]>('global_moderators.json');
    this.assetPrices = loadPartiFixture<Json[]>('assets_prices.json');
    this.moderators.set(353044, loadPartiFixture<Json[]>('moderators.353044.json'));
    this.feeds.set(353044, loadPartiFixture<Json[]>('user_profile_feed.353044.json'));
    this.pinned.set(353044, loadPartiFixture<unknown[]>('pinned_message.353044.empty.json'));
    this.pinned.set(567503, loadPartiFixture<unknown[]>('pinned_message.567503.json'));
    this.chats.set(353044, loadPartiFixture<Json[]>('user_profile_chat.353044.public.json'));
    this.chatSettings.set(465731, loadPartiFixture<Json>('chat_settings.465731.json'));
    this.currency.set(353044, loadPartiFixture<Json[]>('user_currency_info.353044.json'));

    // Every recorded stream from every recent capture, merged by event id (the richest last).
    for (const name of [
      'recent.top-views.json',
      'recent.category-10.json',
      'recent.category-7.json',
      'recent.categories-NaN-7.json',
      'recent.json',
      'recent.by-user-465731.json',
    ]) {
      for (const item of loadPartiFixture<Json[]>(name)) this.addRecent(item);
    }
    this.addRecent(loadPartiFixture<Json>('recent.80892.json'));

    const eventIds = [
      ...this.recent.keys(),
      ...this.calendar.map((event) => num(event.event_id) ?? 0),
      ...[...this.feeds.values()].flat().map((item) => num(item.event_id) ?? 0),
    ];
    this.nextEventId = Math.max(0, ...eventIds) + 100;

    // Live now: the VOD page's live list (coherent with channel_info.567503.live and .353044.offline).
    for (const item of loadPartiFixture<Json[]>('live.vod-page.json')) {
      const { user_id: userId, ...info } = item;
      this.setLive(userId as number, info, { keepChannelInfo: true });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Data helpers

  /** Adds or replaces a profile; its social account (if any) becomes resolvable too. */
  setUser(profile: UserProfile): void {
    this.users.set(profile.user_id, profile);
    const service = profile.social_media?.toLowerCase();
    const name = profile.social_username;
    if (service && name) {
      this.linkSocial(service, service === 'discord' && !name.includes('#') ? `${name}#0` : name, profile.user_id);
    }
  }

  removeUser(userId: number): void {
    this.users.delete(userId);
    this.live.delete(userId);
    this.channelInfos.delete(userId);
    for (const [key, id] of this.socialLinks) if (id === userId) this.socialLinks.delete(key);
  }

  linkSocial(service: string, name: string, userId: number): void {
    this.socialLinks.set(`${service}:${name}`, userId);
  }

  /** Puts a creator live (or, with null, offline): updates the /live list and channel_info/{userId}. */
  setLive(userId: number, info: FakeLiveInfo | null, opts: { keepChannelInfo?: boolean } = {}): void {
    if (!opts.keepChannelInfo) this.channelInfos.delete(userId);
    if (info === null) {
      this.live.delete(userId);
      return;
    }
    const previous = this.live.get(userId);
    const profile = this.users.get(userId);
    const {
      event_id,
      event_title,
      category_name,
      category_id,
      viewers_count,
      user_name,
      livestream_id,
      start_time,
      playback_url,
      playback_auth_token,
      avatar_link,
      event_file,
      ...extra
    } = info;
    const eventId = event_id ?? previous?.eventId ?? this.nextEventId++;
    const categoryName = category_name ?? previous?.categoryName ?? 'Other';
    const livestreamId = livestream_id ?? this.livestreamIdFor(userId);
    this.livestreamIds.set(userId, livestreamId);
    this.live.set(userId, {
      userId,
      eventId,
      eventTitle: event_title ?? previous?.eventTitle ?? "I'm Live on Parti",
      categoryName,
      categoryId: category_id ?? this.categoryIdOf(categoryName),
      viewers: viewers_count ?? previous?.viewers ?? 0,
      userName: user_name ?? profile?.user_name ?? previous?.userName ?? `user${userId}`,
      livestreamId,
      startTime: start_time ?? previous?.startTime ?? new Date().toISOString(),
      playbackUrl: playback_url ?? `${this.mediaUrl}/live/${userId}/master.m3u8`,
      playbackToken: playback_auth_token ?? `fake-playback-token.${userId}.${eventId}`,
      avatarLink: avatar_link ?? profile?.avatar_link ?? previous?.avatarLink ?? undefined,
      eventFile: event_file ?? previous?.eventFile,
      extra: { ...previous?.extra, ...extra },
    });
  }

  /** Takes everyone offline. */
  clearLive(): void {
    for (const userId of this.live.keys()) this.channelInfos.delete(userId);
    this.live.clear();
  }

  /** The /live list as served (highest audience first), unpaged and unfiltered. */
  liveList(): Json[] {
    return [...this.live.values()]
      .sort((a, b) => b.viewers - a.viewers)
      .map((state) => ({
        user_id: state.userId,
        user_name: state.userName,
        event_id: state.eventId,
        event_title: state.eventTitle,
        category_name: state.categoryName,
        viewers_count: state.viewers,
        ...state.extra,
      }));
  }

  isLive(userId: number): boolean {
    return this.live.has(userId);
  }

  /** Adds or merges a recorded stream (keyed by event_id); it appears in /recent and /recent/{id}. */
  addRecent(stream: Json): void {
    const eventId = num(stream.event_id);
    if (eventId === undefined) throw new Error('addRecent needs a numeric event_id');
    this.recent.set(eventId, { ...this.recent.get(eventId), ...stream });
    if (eventId >= this.nextEventId) this.nextEventId = eventId + 1;
  }

  removeRecent(eventId: number): void {
    this.recent.delete(eventId);
  }

  setCalendar(events: Json[]): void {
    this.calendar = events;
  }

  setCategories(categories: Json[]): void {
    this.categories = categories;
  }

  setFeatured(channels: Json[]): void {
    this.featured = channels;
  }

  setFeed(userId: number, items: Json[]): void {
    this.feeds.set(userId, items);
  }

  setModerators(userId: number, moderators: Json[]): void {
    this.moderators.set(userId, moderators);
  }

  /**
   * Answers `body` (raw text) with `status` for this exact raw path (no query), before any other
   * logic; `headers` default to a JSON content type. `rawResponses.delete(rawPath)` undoes it.
   */
  setRaw(rawPath: string, body: string, status = 200, headers: Record<string, string> = {}): void {
    this.rawResponses.set(rawPath, { status, body, headers: { 'content-type': 'application/json', ...headers } });
  }

  /**
   * Serves files under `dir` at `${mediaUrl}/…` on both media hosts, or only on `host` (null: every
   * media request there is a 404).
   */
  setMediaDir(dir: string | null, host?: FakePartiMediaHost): void {
    for (const each of host ? [host] : FAKE_PARTI_MEDIA_HOSTS) {
      if (dir === null) this.mediaDirs.delete(each);
      else this.mediaDirs.set(each, path.resolve(dir));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Recording and faults

  /** How many requests reached a route (by name) or a raw path matching the pattern. */
  requestsTo(route: FakePartiRoute | RegExp): number {
    return this.requests.filter((r) => (typeof route === 'string' ? r.route === route : route.test(r.url))).length;
  }

  /** Makes the next `times` requests to `route` (or every route: '*') fail this way; default: until clearFaults(). */
  fault(route: FakePartiRoute | '*', fault: FakePartiFault, opts: { times?: number } = {}): void {
    this.faults.push({ route, fault, remaining: opts.times ?? Number.POSITIVE_INFINITY });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * While on, new HTTP and push-socket connections are destroyed as soon as they open, and idle
   * keep-alive connections are closed so the next request needs a new one. Open push sockets stay:
   * use dropSockets() for those.
   */
  refuseConnections(on: boolean): void {
    this.refusing = on;
    if (on) for (const { server } of this.listeners.values()) server.closeIdleConnections();
  }

  private takeFault(route: FakePartiRoute): FakePartiFault | undefined {
    const index = this.faults.findIndex((f) => f.route === route || f.route === '*');
    const entry = this.faults[index];
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.faults.splice(index, 1);
    return entry.fault;
  }

  // ---------------------------------------------------------------------------------------------
  // Push socket

  get wsClients(): number {
    return this.wsState.size;
  }

  /** Resolves once a connected client has subscribed to go-live notifications (now or already). */
  waitForSubscription(timeoutMs = 5000): Promise<void> {
    if ([...this.wsState.values()].some((state) => state.subscribed)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.subscriptionWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.subscriptionWaiters.delete(done);
        this.timers.delete(timer);
        reject(new Error(`fake Parti: no NewChannelLiveNotify subscription within ${timeoutMs} ms`));
      }, timeoutMs);
      this.timers.add(timer);
      this.subscriptionWaiters.add(done);
    });
  }

  /** Sends to every connected client; a string goes out raw. Answers how many clients got it. */
  push(payload: object | string): number {
    const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
    let sent = 0;
    for (const ws of this.wsState.keys()) {
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(data);
        sent++;
      }
    }
    return sent;
  }

  /** Puts the creator live and pushes the full go-live notification; answers the payload sent. */
  goLive(userId: number, overrides: Partial<GoLivePayload> = {}): GoLivePayload {
    const profile = this.users.get(userId);
    const eventId = overrides.event_id ?? this.nextEventId++;
    const userName = overrides.user_name ?? profile?.user_name ?? `user${userId}`;
    const payload: GoLivePayload = {
      ...this.goLiveTemplate,
      livestream_id: this.livestreamIdFor(userId),
      user_id: userId,
      user_name: userName,
      user_avatar_id: profile?.user_avatar_id ?? 1,
      avatar_link: profile?.avatar_link ?? `https://assets.parti.com/avatars/${userId}/avatar.png`,
      event_id: eventId,
      event_title: "I'm Live on Parti",
      event_file: `https://assets.parti.com/livestream_previews/${eventId}/preview.jpg`,
      category_name: 'Other',
      viewers_count: 0,
      social_media: profile?.social_media ?? 'parti',
      social_username: profile?.social_username ?? userName,
      channel_arn: `arn:aws:ivs:eu-west-1:455030909228:channel/fake${userId}`,
      ...overrides,
    };
    this.setLive(userId, {
      event_id: payload.event_id,
      event_title: payload.event_title,
      category_name: payload.category_name,
      viewers_count: payload.viewers_count,
      user_name: payload.user_name,
      livestream_id: payload.livestream_id,
      avatar_link: payload.avatar_link,
      event_file: payload.event_file,
      start_time: new Date().toISOString(),
    });
    this.push(payload);
    return payload;
  }

  /** Terminates every push-socket connection (the client sees an abnormal close). */
  dropSockets(): void {
    for (const ws of this.wsState.keys()) ws.terminate();
  }

  private onSocket(ws: WebSocket): void {
    const state = { subscribed: false };
    this.wsState.set(ws, state);
    ws.on('ping', (data) => {
      if (this.respondToPings && ws.readyState === WebSocket.OPEN) ws.pong(data);
    });
    ws.on('message', (data) => {
      const text = rawText(data);
      let message: unknown = text;
      try {
        message = JSON.parse(text);
      } catch {
        // junk stays recorded as text
      }
      this.subscriptions.push(message);
      const options = (message as { subscribe_options?: Record<string, unknown> } | null)?.subscribe_options;
      if (options && typeof options === 'object' && 'NewChannelLiveNotify' in options) {
        state.subscribed = true;
        for (const waiter of [...this.subscriptionWaiters]) waiter();
      }
    });
    ws.on('close', () => this.wsState.delete(ws));
    ws.on('error', () => this.wsState.delete(ws));
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private async handle(host: FakePartiHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1));
    const { route, params } = classify(host, rawPath);
    this.requests.push({
      host,
      method: req.method ?? 'GET',
      path: rawPath,
      url: rawUrl,
      route,
      query,
      headers: req.headers,
      at: Date.now(),
    });
    res.setHeader('access-control-allow-origin', '*');

    try {
      const fault = this.takeFault(route);
      if (fault) {
        const handled = await this.applyFault(fault, req, res);
        if (handled || res.destroyed || res.writableEnded) return;
      }
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': '*' }).end();
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        this.json(res, 405, { detail: 'Method Not Allowed' });
        return;
      }
      const raw = this.rawResponses.get(rawPath);
      if (raw) {
        res.writeHead(raw.status, raw.headers).end(req.method === 'HEAD' ? undefined : raw.body);
        return;
      }
      if (route === 'media') {
        await this.serveMedia(this.mediaDirs.get(host as FakePartiMediaHost), req, res, params[0] ?? '');
        return;
      }
      const answer =
        host === 'api-backend' && NEWER_ROUTES.has(route)
          ? { status: 404, body: NOT_FOUND }
          : this.answer(route, params, query);
      this.json(res, answer.status, answer.body, req.method === 'HEAD');
    } catch (error) {
      if (!res.headersSent) this.json(res, 500, { detail: `fake Parti error: ${(error as Error).message}` });
      else res.destroy();
    }
  }

  /** Answers true when the fault produced the whole response; false when normal handling continues. */
  private async applyFault(fault: FakePartiFault, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (fault.kind) {
      case 'challenge':
        res
          .writeHead(403, {
            'content-type': 'text/html; charset=UTF-8',
            'cf-mitigated': 'challenge',
            'cache-control': 'private, max-age=0, no-store, no-cache, must-revalidate',
            server: 'cloudflare',
          })
          .end(CHALLENGE_PAGE);
        return true;
      case 'status': {
        const body = fault.body ?? JSON.stringify({ detail: `injected HTTP ${fault.status}` });
        const type = body.trimStart().startsWith('<') ? 'text/html; charset=UTF-8' : 'application/json';
        res.writeHead(fault.status, { 'content-type': type }).end(body);
        return true;
      }
      case 'rate_limit':
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(fault.retryAfterSeconds) })
          .end(JSON.stringify({ detail: 'Too Many Requests' }));
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"user_id": 353044, "user_name": "Balth');
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      case 'slow':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            resolve();
          }, fault.ms);
          this.timers.add(timer);
          res.once('close', () => {
            clearTimeout(timer);
            this.timers.delete(timer);
            resolve();
          });
        });
        return false;
    }
  }

  private json(res: ServerResponse, status: number, body: unknown, headOnly = false): void {
    const text = JSON.stringify(body);
    res
      .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      .end(headOnly ? undefined : text);
  }

  private answer(route: FakePartiRoute, params: string[], query: URLSearchParams): { status: number; body: unknown } {
    const ok = (body: unknown): { status: number; body: unknown } => ({ status: 200, body });
    const notFound = { status: 404, body: NOT_FOUND };
    const userId = Number(params[0]);
    switch (route) {
      case 'user_profile': {
        const profile = this.users.get(userId);
        return profile ? ok(profile) : notFound;
      }
      case 'social': {
        const service = decode(params[0] ?? '');
        const name = decode(params[1] ?? '');
        if (service === null || name === null) return notFound;
        const key = `${service}:${name}`;
        let id = this.socialLinks.get(key);
        if (id === undefined) {
          const lower = key.toLowerCase();
          for (const [candidate, candidateId] of this.socialLinks)
            if (candidate.toLowerCase() === lower) id = candidateId;
        }
        return id === undefined ? notFound : ok(id);
      }
      case 'user_id_from_name': {
        const name = decode(params[0] ?? '')?.toLowerCase();
        if (!name) return notFound;
        let id = this.names.get(name);
        for (const [key, candidate] of this.socialLinks) {
          if (id === undefined && key.slice(key.indexOf(':') + 1).toLowerCase() === name) id = candidate;
        }
        return id === undefined ? notFound : ok({ user_id: id });
      }
      case 'channel_info': {
        const verbatim = this.channelInfos.get(userId);
        if (verbatim !== undefined) return ok(verbatim);
        const state = this.live.get(userId);
        if (state) return ok(this.liveChannelInfo(state));
        if (!this.users.has(userId)) return notFound;
        return ok({
          status: 'Public',
          channel_info: {
            channel: { livestream_id: this.livestreamIdFor(userId), user_id: userId, is_live: false },
            visibility_type: 'Public',
          },
          is_streaming_live_now: false,
        });
      }
      case 'live': {
        const categories = this.categoryFilter(query);
        const list = this.liveList().filter((item) => {
          if (!categories) return true;
          const id = this.live.get(item.user_id as number)?.categoryId;
          return id !== undefined && categories.has(id);
        });
        return ok(page(list, query, 100));
      }
      case 'recent':
        return ok(this.recentList(query));
      case 'recent_by_id': {
        const stream = this.recent.get(userId);
        return stream ? ok(stream) : notFound;
      }
      case 'calendar':
        return ok(page(this.calendar, query, 100));
      case 'categories':
        return ok(this.categories);
      case 'featured':
        return ok(this.featured);
      case 'moderators':
        return ok(this.moderators.get(userId) ?? []);
      case 'global_moderators':
        return ok(this.globalModerators);
      case 'feed':
        return ok(page(this.feeds.get(userId) ?? [], query, 5));
      case 'pinned':
        return ok(this.pinned.get(userId) ?? []);
      case 'chat':
        return ok(this.chats.get(userId) ?? []);
      case 'chat_settings': {
        const settings = this.chatSettings.get(userId);
        if (settings) return ok(settings);
        if (!this.users.has(userId)) return notFound;
        return ok({
          user_id: userId,
          show_timestamp: false,
          username_color: '#FFFFFF',
          user_badges: [],
          settings_hint_shown: false,
          require_follow_to_chat: false,
        });
      }
      case 'currency':
        return ok(this.currency.get(userId) ?? []);
      case 'asset_prices':
        return ok(this.assetPrices);
      case 'media':
      case 'unknown':
        return notFound;
    }
  }

  private liveChannelInfo(state: LiveState): Json {
    return {
      status: 'Public',
      channel_info: {
        channel: {
          livestream_id: state.livestreamId,
          user_id: state.userId,
          is_live: true,
          current_event_id: state.eventId,
          playback_url: state.playbackUrl,
          playback_auth_token: state.playbackToken,
        },
        stream: { health: 'HEALTHY', state: 'LIVE', viewer_count: state.viewers, start_time: state.startTime },
        visibility_type: 'Public',
        livestream_event_info: {
          event_name: state.eventTitle,
          ...(state.eventFile ? { livestream_preview_file: state.eventFile } : {}),
        },
      },
      is_streaming_live_now: true,
    };
  }

  private recentList(query: URLSearchParams): Json[] {
    const categories = this.categoryFilter(query);
    const byUser = query.has('by_user_id') ? Number(query.get('by_user_id')) : undefined;
    const from = query.has('from_ts') ? Number(query.get('from_ts')) : undefined;
    const to = query.has('to_ts') ? Number(query.get('to_ts')) : undefined;
    const topViews = query.get('top_views_sort') === 'true';
    const descending = query.get('sort_by_date_desc') !== 'false';
    const list = [...this.recent.values()].filter((item) => {
      if (byUser !== undefined && item.user_id !== byUser) return false;
      if (categories) {
        const id = this.categoryIdOf(typeof item.category_name === 'string' ? item.category_name : undefined);
        if (id === undefined || !categories.has(id)) return false;
      }
      const end = num(item.event_end_ts);
      if (end !== undefined && from !== undefined && end < from) return false;
      if (end !== undefined && to !== undefined && end > to) return false;
      return true;
    });
    const when = (item: Json): number => num(item.event_end_ts) ?? num(item.event_id) ?? 0;
    list.sort((a, b) =>
      topViews
        ? (num(b.total_viewers) ?? 0) - (num(a.total_viewers) ?? 0)
        : descending
          ? when(b) - when(a)
          : when(a) - when(b),
    );
    return page(list, query, 15);
  }

  /** The set of category ids asked for (NaN and junk ignored, as the web app's `categories=NaN` suggests). */
  private categoryFilter(query: URLSearchParams): Set<number> | undefined {
    const ids = query
      .getAll('categories')
      .map(Number)
      .filter((value) => Number.isInteger(value));
    return ids.length > 0 ? new Set(ids) : undefined;
  }

  private categoryIdOf(name: string | undefined): number | undefined {
    if (!name) return undefined;
    const lower = name.toLowerCase();
    const match = this.categories.find(
      (c) =>
        (typeof c.name === 'string' && c.name.toLowerCase() === lower) ||
        (typeof c.display_name === 'string' && c.display_name.toLowerCase() === lower),
    );
    return num(match?.category_id);
  }

  private livestreamIdFor(userId: number): number {
    let id = this.livestreamIds.get(userId);
    if (id === undefined) {
      id = this.nextLivestreamId++;
      this.livestreamIds.set(userId, id);
    }
    return id;
  }

  private async serveMedia(
    mediaDir: string | undefined,
    req: IncomingMessage,
    res: ServerResponse,
    rawRest: string,
  ): Promise<void> {
    const rest = decode(rawRest);
    if (!mediaDir || rest === null) {
      this.json(res, 404, NOT_FOUND);
      return;
    }
    const file = path.resolve(mediaDir, rest);
    if (!file.startsWith(mediaDir + path.sep)) {
      this.json(res, 403, { detail: 'Forbidden' });
      return;
    }
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      this.json(res, 404, NOT_FOUND);
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'accept-ranges': 'bytes',
      'cache-control': 'no-cache',
    };
    let start = 0;
    let end = info.size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && info.size > 0 && (range[1] || range[2])) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(end, Number(range[2]));
      } else {
        start = Math.max(0, info.size - Number(range[2]));
      }
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${info.size}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
    }
    headers['content-length'] = info.size === 0 ? 0 : end - start + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    createReadStream(file, { start, end })
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.subscriptionWaiters.clear();
    for (const ws of this.wsState.keys()) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await Promise.all([...this.listeners.keys()].map((host) => this.setOnline(host, false)));
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export type FakeParti = FakePartiServer;

/** Starts a fake Parti, each host on a free port of 127.0.0.1, seeded from test/fixtures/parti. */
export async function startFakeParti(): Promise<FakeParti> {
  const wss = new WebSocketServer({ noServer: true, autoPong: false });
  const listeners = new Map<FakePartiHost, Listener>();
  for (const host of FAKE_PARTI_HOSTS) {
    const server = createServer({ keepAliveTimeout: 5000 });
    await listen(server, 0);
    listeners.set(host, { server, port: (server.address() as AddressInfo).port, online: true });
  }
  return new FakePartiServer(listeners, wss);
}
