// The Parti HTTP client: one typed function per backend route the bot reads.
// Every call goes through `get()`, which adds what a flaky third-party backend behind Cloudflare
// needs: browser-like headers, a per-attempt deadline, retries with backoff for idempotent GETs,
// Retry-After on 429, a keyv response cache with a TTL per route, and one shared upstream request
// for concurrent identical calls. Failures surface as PartiError with a `kind` the bot can act on.
// Parti has moved its API and media hosts over time, so both are lists tried in order (bases.ts):
// a host that cannot be reached, or lacks a route another host serves, is skipped for a while.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { Keyv } from 'keyv';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { createBaseSet, type BaseSet, type BaseSwitch } from './bases.js';
import { PartiError, isPartiError, type PartiErrorKind } from './errors.js';
import {
  AssetPriceListSchema,
  CalendarEventListSchema,
  CategoryListSchema,
  ChannelInfoSchema,
  ChatMessageListSchema,
  ChatSettingsSchema,
  CurrencyInfoListSchema,
  FeaturedChannelListSchema,
  FeedItemListSchema,
  LiveChannelListSchema,
  ModeratorListSchema,
  PinnedMessageListSchema,
  RecentStreamListSchema,
  RecentStreamSchema,
  UserIdLookupSchema,
  UserProfileSchema,
  summarizeIssues,
  type AssetPrice,
  type CalendarEvent,
  type Category,
  type ChannelInfo,
  type ChatMessage,
  type ChatSettings,
  type CurrencyInfo,
  type FeaturedChannel,
  type FeedItem,
  type LiveChannel,
  type Moderator,
  type PinnedMessageList,
  type RecentStream,
  type UserProfile,
} from './schemas.js';
import { recordingUrl, type SocialService } from './urls.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/**
 * Every route the client reads, with its cache TTL. `lookup` routes answer one object for an id:
 * a null or empty answer there means "no such thing" (not_found) rather than a malformed body.
 * The names appear in log lines, in PartiError.route, and in the fake Parti's fault/request API.
 */
export const PARTI_ROUTES = {
  user_profile: { ttlMs: 5 * MINUTE, lookup: true },
  social: { ttlMs: 60 * MINUTE, lookup: true },
  user_id_from_name: { ttlMs: 60 * MINUTE, lookup: true },
  channel_info: { ttlMs: 15 * SECOND, lookup: true },
  live: { ttlMs: 20 * SECOND, lookup: false },
  recent: { ttlMs: 2 * MINUTE, lookup: false },
  recent_by_id: { ttlMs: 10 * MINUTE, lookup: true },
  calendar: { ttlMs: 5 * MINUTE, lookup: false },
  categories: { ttlMs: 60 * MINUTE, lookup: false },
  featured: { ttlMs: 5 * MINUTE, lookup: false },
  moderators: { ttlMs: 5 * MINUTE, lookup: false },
  global_moderators: { ttlMs: 30 * MINUTE, lookup: false },
  feed: { ttlMs: 5 * MINUTE, lookup: false },
  pinned: { ttlMs: 30 * SECOND, lookup: false },
  chat: { ttlMs: 30 * SECOND, lookup: false },
  chat_settings: { ttlMs: 5 * MINUTE, lookup: true },
  currency: { ttlMs: 5 * MINUTE, lookup: false },
  asset_prices: { ttlMs: 30 * SECOND, lookup: false },
} as const satisfies Record<string, { ttlMs: number; lookup: boolean }>;

export type PartiRoute = keyof typeof PARTI_ROUTES;

/** What the web app sends; Cloudflare is less likely to challenge a request that looks like it. */
export const PARTI_BROWSER_HEADERS = {
  accept: 'application/json, text/plain, */*',
  'accept-language': 'en-US,en;q=0.9',
  origin: 'https://parti.com',
  referer: 'https://parti.com/',
  'user-agent':
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36',
} as const;

const LIVE_PAGE_SIZE = 100;
const MAX_LIVE_PAGES = 50;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 4000;
const SNIPPET_CHARS = 120;

export type PartiHostKind = 'api' | 'media';

export interface PartiClientOptions {
  /** API bases tried in this order, e.g. https://prod-api.parti.com/parti_v2 (a trailing slash is fine). */
  baseUrls: readonly string[];
  /** Media bases that `livestream_recording` paths are joined to, tried in this order. */
  mediaBaseUrls: readonly string[];
  /** HTTP proxy for every request (CONNECT tunnel). */
  proxyUrl?: string | undefined;
  /** A keyv namespace dedicated to this cache. */
  cache: Keyv;
  logger: Logger;
  /** Deadline per attempt, connect to last body byte. Default 8000. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt for network errors, 5xx and 429. Default 2. */
  retries?: number | undefined;
  /** A 429 asking to wait longer than this fails at once as rate_limited. Default 10000. */
  maxRetryAfterMs?: number | undefined;
  /** Told about every upstream attempt (for /metrics). */
  onAttempt?: ((route: PartiRoute, outcome: string, seconds: number) => void) | undefined;
  /** Told which API and media base is in use: once at start, then on every switch with the base it replaced. */
  onBaseInUse?: ((kind: PartiHostKind, base: string, replaced?: string) => void) | undefined;
}

export interface CallOptions {
  /** Skip the cache read (the answer is still cached). For callers that must see the current state. */
  fresh?: boolean | undefined;
}

export interface LiveChannelsQuery {
  categoryId?: number | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface RecentStreamsQuery {
  categories?: readonly number[] | undefined;
  byUserId?: number | undefined;
  /** Default true, as the web app sends. */
  sortByDateDesc?: boolean | undefined;
  topViewsSort?: boolean | undefined;
  followedOnly?: boolean | undefined;
  /** Unix seconds. */
  fromTs?: number | undefined;
  /** Unix seconds. */
  toTs?: number | undefined;
  /** Default 0. */
  offset?: number | undefined;
  /** Default 15, as the web app sends. */
  limit?: number | undefined;
}

export interface CalendarQuery {
  offset?: number | undefined;
  limit?: number | undefined;
}

export interface PartiClient {
  getUserProfile(userId: number, options?: CallOptions): Promise<UserProfile>;
  /**
   * The Parti user id linked to a social account. For Discord pass `username#discriminator`; a bare
   * username is sent as `username#0` (new-style accounts).
   */
  getUserIdBySocialMedia(service: SocialService, name: string, options?: CallOptions): Promise<number>;
  /**
   * The Parti user id behind a creator page's slug or a bare name: `user_id_from_name` (served by the
   * newer API hosts; a `/` in the slug is sent as `#`), and where that has no answer, the social route
   * (`name/1234` as a Discord handle, anything else as a Parti name), which every host serves.
   */
  getUserIdByName(name: string, options?: CallOptions): Promise<number>;
  getChannelInfo(userId: number, options?: CallOptions): Promise<ChannelInfo>;
  getLiveChannels(query?: LiveChannelsQuery, options?: CallOptions): Promise<LiveChannel[]>;
  /** Every live channel, paging the live list 100 at a time until a short page (at most 50 pages). */
  getAllLiveChannels(query?: { categoryId?: number | undefined }, options?: CallOptions): Promise<LiveChannel[]>;
  getRecentStreams(query?: RecentStreamsQuery, options?: CallOptions): Promise<RecentStream[]>;
  getRecentStream(videoId: number, options?: CallOptions): Promise<RecentStream>;
  /**
   * The playable URL of a `livestream_recording`: an absolute one as it is; a path joined to the first
   * media base that has it, found with a small range request (unreachable hosts are skipped, and
   * remembered). When no host confirms it, the first reachable base. Null without a recording.
   */
  getRecordingUrl(livestreamRecording: string | null | undefined): Promise<string | null>;
  getCalendarEvents(query?: CalendarQuery, options?: CallOptions): Promise<CalendarEvent[]>;
  getCategories(options?: CallOptions): Promise<Category[]>;
  getFeaturedChannels(options?: CallOptions): Promise<FeaturedChannel[]>;
  getModerators(userId: number, options?: CallOptions): Promise<Moderator[]>;
  getGlobalModerators(options?: CallOptions): Promise<Moderator[]>;
  /** Default limit 5, as the web app sends. */
  getUserFeed(userId: number, limit?: number, options?: CallOptions): Promise<FeedItem[]>;
  getPinnedMessage(userId: number, options?: CallOptions): Promise<PinnedMessageList>;
  getPublicChat(userId: number, options?: CallOptions): Promise<ChatMessage[]>;
  getChatSettings(userId: number, options?: CallOptions): Promise<ChatSettings>;
  getCurrencyInfo(userId: number, options?: CallOptions): Promise<CurrencyInfo[]>;
  getAssetPrices(options?: CallOptions): Promise<AssetPrice[]>;
  /** Destroys the connection pool; pending and later calls fail as unavailable. */
  close(): Promise<void>;
}

interface CacheEntry {
  body: unknown;
  at: number;
}

/**
 * One attempt's result: a JSON body, or an error and whether (and after how long) to try again.
 * `unreachable` says the host could not be reached at all, so the next base is worth asking at once.
 */
type Attempt =
  | { ok: true; body: unknown }
  | {
      ok: false;
      error: PartiError;
      retry: boolean;
      delayMs?: number | undefined;
      snippet?: string | undefined;
      unreachable?: string | undefined;
    };

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** No connection at all: no such host, nothing listening, no route, no TCP within the connect timeout. */
const UNREACHABLE_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EPROTO',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** A request answered 404 or 410: for a route, maybe this host lacks it; for an id, it does not exist. */
const MISSING_STATUSES = new Set([404, 410]);
const PROBE_RANGE = 'bytes=0-1023';

/**
 * Why a failed request never reached an HTTP server, when that is the reason (DNS, connect, TLS, or a
 * proxy that could not open the tunnel); undefined for failures after the connection (reset, timeout).
 */
function unreachableReason(error: unknown): string | undefined {
  const code = errorCode(error);
  if (code !== undefined && (UNREACHABLE_CODES.has(code) || /CERT|^ERR_(TLS|SSL)_/.test(code))) return code;
  const proxy = /Proxy response \((\d{3})\)/.exec(error instanceof Error ? error.message : '');
  return proxy ? `proxy answered ${proxy[1]} to CONNECT` : undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After: delay-seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * SECOND);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
}

function looksLikeHtml(contentType: string | undefined, text: string): boolean {
  return /\btext\/html\b/i.test(contentType ?? '') || /^\s*<(!doctype|html|head|body|\?xml)/i.test(text);
}

function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buffer);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function assertId(route: PartiRoute, value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PartiError('not_found', route, `${what} ${String(value)} is not a Parti id`);
  }
}

export function createPartiClient(opts: PartiClientOptions): PartiClient {
  const timeoutMs = opts.timeoutMs ?? 8000;
  const retries = Math.max(0, opts.retries ?? 2);
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 10 * SECOND;
  const { cache, logger } = opts;

  const agentOptions = {
    keepAliveTimeout: 30 * SECOND,
    keepAliveMaxTimeout: 60 * SECOND,
    connections: 32,
    // Half the deadline: a host that never accepts the connection is told from a slow one in time
    // to ask the next base within the same attempt.
    connect: { timeout: Math.max(1, Math.round(timeoutMs / 2)) },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  };
  const dispatcher: Dispatcher = opts.proxyUrl
    ? new ProxyAgent({ uri: opts.proxyUrl, ...agentOptions })
    : new Agent(agentOptions);

  const closing = new AbortController();
  // Every attempt in flight listens for close(); there can be many at once.
  setMaxListeners(0, closing.signal);
  const inflight = new Map<string, { promise: Promise<unknown>; fresh: boolean }>();
  let cacheBroken = false;

  function baseSet(kind: PartiHostKind, urls: readonly string[]): BaseSet {
    const set = createBaseSet(
      urls.map((url) => url.replace(/\/+$/, '')),
      {
        onSwitch: (change: BaseSwitch) => {
          const level = change.reason.startsWith('unreachable') ? 'warn' : 'info';
          logger[level]({ kind, ...change }, `parti ${kind} base switched`);
          opts.onBaseInUse?.(kind, change.to, change.from);
        },
      },
    );
    opts.onBaseInUse?.(kind, set.inUse());
    return set;
  }
  const apiBases = baseSet('api', opts.baseUrls);
  const mediaBases = baseSet('media', opts.mediaBaseUrls);
  logger.info({ api: apiBases.bases, media: mediaBases.bases }, 'parti hosts, tried in this order');

  function closedError(route: PartiRoute): PartiError {
    return new PartiError('unavailable', route, 'the Parti client is closed');
  }

  async function readCache(key: string): Promise<CacheEntry | undefined> {
    try {
      return await cache.get<CacheEntry>(key);
    } catch (error) {
      if (!cacheBroken) logger.warn({ err: error }, 'parti cache read failed; continuing without cache');
      cacheBroken = true;
      return undefined;
    }
  }

  async function writeCache(key: string, body: unknown, ttlMs: number): Promise<void> {
    try {
      await cache.set(key, { body, at: Date.now() } satisfies CacheEntry, ttlMs);
      cacheBroken = false;
    } catch (error) {
      if (!cacheBroken) logger.warn({ err: error }, 'parti cache write failed; continuing without cache');
      cacheBroken = true;
    }
  }

  /** One upstream request with its own deadline, classified into body / error + retry advice. */
  async function attemptOnce(
    route: PartiRoute,
    base: string,
    path: string,
    url: string,
    attempt: number,
  ): Promise<Attempt> {
    const started = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const onClose = (): void => deadline.abort();
    closing.signal.addEventListener('abort', onClose, { once: true });
    const ms = (): number => Math.round(performance.now() - started);
    try {
      const response = await request(url, {
        method: 'GET',
        headers: PARTI_BROWSER_HEADERS,
        dispatcher,
        signal: deadline.signal,
      });
      const { text, truncated } = await readBody(response.body);
      const status = response.statusCode;
      logger.debug({ route, base, path, status, ms: ms(), attempt }, 'parti request');

      const contentType = headerValue(response.headers['content-type']);
      const mitigated = headerValue(response.headers['cf-mitigated']);
      const retryAfterMs = parseRetryAfter(headerValue(response.headers['retry-after']));
      const snippet = snippetOf(text);

      if (mitigated?.toLowerCase().includes('challenge')) {
        return {
          ok: false,
          retry: false,
          snippet,
          error: new PartiError('challenge', route, `Cloudflare challenge (HTTP ${status})`, { status }),
        };
      }
      if (status === 429) {
        const tooLong = retryAfterMs !== undefined && retryAfterMs > maxRetryAfterMs;
        const error = new PartiError('rate_limited', route, 'rate limited (HTTP 429)', { status, retryAfterMs });
        return { ok: false, retry: !tooLong, delayMs: retryAfterMs, snippet, error };
      }
      if (MISSING_STATUSES.has(status)) {
        return {
          ok: false,
          retry: false,
          snippet,
          error: new PartiError('not_found', route, `not found (HTTP ${status})`, { status }),
        };
      }
      const html = looksLikeHtml(contentType, text);
      if (html && (status < 300 || status === 403 || status === 503)) {
        return {
          ok: false,
          retry: false,
          snippet,
          error: new PartiError('challenge', route, `HTML page instead of JSON (HTTP ${status})`, { status }),
        };
      }
      if (status >= 500) {
        const delayMs = retryAfterMs !== undefined && retryAfterMs <= maxRetryAfterMs ? retryAfterMs : undefined;
        return {
          ok: false,
          retry: true,
          delayMs,
          snippet,
          error: new PartiError('unavailable', route, `server error (HTTP ${status})`, { status }),
        };
      }
      if (status >= 300) {
        return {
          ok: false,
          retry: false,
          snippet,
          error: new PartiError('http', route, `unexpected HTTP ${status}`, { status }),
        };
      }
      if (truncated) {
        return {
          ok: false,
          retry: false,
          error: new PartiError('malformed', route, `body larger than ${MAX_BODY_BYTES} bytes`, { status }),
        };
      }
      if (text.trim() === '') return { ok: true, body: undefined };
      try {
        return { ok: true, body: JSON.parse(text) as unknown };
      } catch {
        return {
          ok: false,
          retry: false,
          snippet,
          error: new PartiError('malformed', route, `body is not JSON (HTTP ${status}, ${text.length} bytes)`, {
            status,
          }),
        };
      }
    } catch (error) {
      if (closing.signal.aborted) return { ok: false, retry: false, error: closedError(route) };
      const code = errorCode(error);
      const unreachable = unreachableReason(error);
      if (unreachable === undefined && (deadline.signal.aborted || (code !== undefined && TIMEOUT_CODES.has(code)))) {
        logger.debug({ route, base, path, ms: ms(), attempt, code: code ?? 'deadline' }, 'parti request timed out');
        return {
          ok: false,
          retry: true,
          error: new PartiError('timeout', route, `no answer within ${timeoutMs} ms`, { cause: error }),
        };
      }
      logger.debug({ route, base, path, ms: ms(), attempt, code, unreachable }, 'parti request failed');
      return {
        ok: false,
        retry: true,
        unreachable,
        error: new PartiError(
          'unavailable',
          route,
          `network error (${unreachable ?? code ?? (error as Error).message})`,
          {
            cause: error,
          },
        ),
      };
    } finally {
      clearTimeout(timer);
      closing.signal.removeEventListener('abort', onClose);
    }
  }

  /**
   * One attempt on the API bases in turn (see bases.ts): the next base is asked at once, with no
   * backoff, when this one cannot be reached or answers 404/410; any other answer is final.
   * A 404 from every base is an ordinary not_found.
   */
  async function attemptOnBases(route: PartiRoute, pathAndQuery: string, attempt: number): Promise<Attempt> {
    const walk = apiBases.walk(route);
    let missing: Attempt | undefined;
    let last: Attempt | undefined;
    for (let base = walk.next(); base !== undefined; base = walk.next()) {
      const startedAt = performance.now();
      const result = await attemptOnce(route, base, pathAndQuery, `${base}${pathAndQuery}`, attempt);
      opts.onAttempt?.(route, result.ok ? 'ok' : result.error.kind, (performance.now() - startedAt) / 1000);
      if (result.ok) {
        walk.served(base);
        return result;
      }
      last = result;
      if (result.unreachable !== undefined) {
        walk.unreachable(base, result.unreachable);
      } else if (result.error.status !== undefined && MISSING_STATUSES.has(result.error.status)) {
        walk.missing(base);
        missing ??= result;
      } else {
        // A timeout or a reset is no answer: it neither proves the base up nor is a reason to leave it.
        if (result.error.status !== undefined) walk.answered(base);
        return result;
      }
    }
    return missing ?? last ?? { ok: false, retry: false, error: closedError(route) };
  }

  /** Runs attempts until one succeeds, a failure is final, or the retry budget is spent. */
  async function fetchJson(route: PartiRoute, path: string): Promise<unknown> {
    let timeouts = 0;
    for (let attempt = 1; ; attempt++) {
      if (closing.signal.aborted) throw closedError(route);
      const result = await attemptOnBases(route, path, attempt);
      if (result.ok) return result.body;
      const { error } = result;
      if (error.kind === 'timeout') timeouts++;
      const canRetry = result.retry && attempt <= retries && !(error.kind === 'timeout' && timeouts > 1);
      if (!canRetry) {
        const level = error.kind === 'not_found' ? 'debug' : 'warn';
        logger[level](
          { route, path, kind: error.kind, status: error.status, attempts: attempt, snippet: result.snippet },
          'parti request failed',
        );
        throw error;
      }
      const delayMs = result.delayMs ?? backoffMs(attempt);
      logger.warn(
        { route, path, kind: error.kind, status: error.status, attempt, delayMs },
        'parti request failed; retrying',
      );
      try {
        await sleep(delayMs, undefined, { signal: closing.signal });
      } catch {
        throw closedError(route);
      }
    }
  }

  function validate<T>(route: PartiRoute, body: unknown, schema: z.ZodType<T>): T {
    const empty =
      body === undefined ||
      body === null ||
      body === '' ||
      (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
    if (PARTI_ROUTES[route].lookup && empty) throw new PartiError('not_found', route, 'empty answer');
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const error = new PartiError('malformed', route, `unexpected answer: ${summarizeIssues(result.error)}`);
    logger.warn(
      { route, kind: 'malformed', issues: summarizeIssues(result.error) },
      'parti answer did not match the schema',
    );
    throw error;
  }

  async function get<T>(
    route: PartiRoute,
    path: string,
    query: URLSearchParams | undefined,
    schema: z.ZodType<T>,
    options: CallOptions | undefined,
  ): Promise<T> {
    if (closing.signal.aborted) throw closedError(route);
    const search = query?.toString();
    const pathAndQuery = search ? `${path}?${search}` : path;
    const key = `GET ${pathAndQuery}`;
    const fresh = options?.fresh === true;

    if (!fresh) {
      const hit = await readCache(key);
      if (hit !== undefined && typeof hit === 'object' && hit !== null && 'body' in hit) {
        const parsed = schema.safeParse(hit.body);
        if (parsed.success) return parsed.data;
      }
    }

    // A fresh call may only share a request that is itself fresh: an older one may predate the caller's need.
    const existing = inflight.get(key);
    if (existing && (existing.fresh || !fresh)) return (await existing.promise) as T;

    const promise = (async (): Promise<T> => {
      const body = await fetchJson(route, pathAndQuery);
      const data = validate(route, body, schema);
      await writeCache(key, body, PARTI_ROUTES[route].ttlMs);
      return data;
    })();
    const entry = { promise, fresh };
    inflight.set(key, entry);
    try {
      return await promise;
    } finally {
      if (inflight.get(key) === entry) inflight.delete(key);
    }
  }

  const userPath = (route: PartiRoute, prefix: string, userId: number, suffix = ''): string => {
    assertId(route, userId, 'user id');
    return `/profile/${prefix}/${userId}${suffix}`;
  };

  const flag = (value: boolean): string => (value ? 'true' : 'false');
  const int = (value: number): string => String(Math.trunc(value));

  async function getLiveChannels(query: LiveChannelsQuery = {}, options?: CallOptions): Promise<LiveChannel[]> {
    const params = new URLSearchParams();
    params.set('limit', int(query.limit ?? LIVE_PAGE_SIZE));
    params.set('offset', int(query.offset ?? 0));
    if (query.categoryId !== undefined) params.set('categories', int(query.categoryId));
    return get('live', '/profile/get_livestream_channel_info/live', params, LiveChannelListSchema, options);
  }

  async function getUserIdBySocialMedia(service: SocialService, name: string, options?: CallOptions): Promise<number> {
    let handle = name.trim();
    if (!handle) throw new PartiError('not_found', 'social', 'empty name');
    // Parti knows Discord accounts as username#discriminator; new-style accounts are #0.
    if (service === 'discord' && !/#\d{1,4}$/.test(handle)) handle = `${handle}#0`;
    const path = `/profile/get_user_by_social_media/${encodeURIComponent(service)}/${encodeURIComponent(handle)}`;
    return get('social', path, undefined, UserIdLookupSchema, options);
  }

  /**
   * Which media base answers for this path: a small range GET on each in turn. Unreachable bases and
   * 404/410 move on; any other answer (or none in time) keeps that base, as a challenge or a 429 is no
   * reason to switch. Undefined when every base said 404/410 or could not be reached.
   */
  async function probeMedia(path: string): Promise<string | undefined> {
    // Keyed by the recording itself: one host may have older recordings that another lacks.
    const walk = mediaBases.walk(path);
    for (let base = walk.next(); base !== undefined; base = walk.next()) {
      if (closing.signal.aborted) return undefined;
      const signal = AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]);
      let status: number;
      try {
        const response = await request(`${base}${path}`, {
          method: 'GET',
          headers: { ...PARTI_BROWSER_HEADERS, accept: '*/*', range: PROBE_RANGE },
          dispatcher,
          signal,
        });
        status = response.statusCode;
        await response.body.dump().catch(() => undefined);
      } catch (error) {
        const unreachable = unreachableReason(error);
        logger.debug({ base, path, unreachable, code: errorCode(error) }, 'parti media probe failed');
        if (unreachable === undefined) return base;
        walk.unreachable(base, unreachable);
        continue;
      }
      logger.debug({ base, path, status }, 'parti media probe');
      if (MISSING_STATUSES.has(status)) {
        walk.missing(base);
        continue;
      }
      if (status < 300) walk.served(base);
      else walk.answered(base);
      return base;
    }
    return undefined;
  }

  return {
    getUserProfile: async (userId, options) =>
      get('user_profile', userPath('user_profile', 'user_profile', userId), undefined, UserProfileSchema, options),

    getUserIdBySocialMedia,

    getUserIdByName: async (name, options) => {
      const slug = name.trim();
      if (!slug) throw new PartiError('not_found', 'user_id_from_name', 'empty name');
      const path = `/profile/user_id_from_name/${encodeURIComponent(slug.replace(/\//g, '#'))}`;
      try {
        return await get('user_id_from_name', path, undefined, UserIdLookupSchema, options);
      } catch (error) {
        // Not found on any host: the oldest hosts lack the route, and a name may only be known there.
        if (!isPartiError(error, 'not_found')) throw error;
      }
      const discord = /^(.+)\/(\d{1,4})$/.exec(slug);
      return discord?.[1] && discord[2]
        ? getUserIdBySocialMedia('discord', `${discord[1]}#${discord[2]}`, options)
        : getUserIdBySocialMedia('parti', slug, options);
    },

    getChannelInfo: async (userId, options) =>
      get(
        'channel_info',
        userPath('channel_info', 'get_livestream_channel_info', userId),
        undefined,
        ChannelInfoSchema,
        options,
      ),

    getLiveChannels,

    getAllLiveChannels: async (query = {}, options) => {
      const seen = new Set<number>();
      const all: LiveChannel[] = [];
      for (let page = 0; page < MAX_LIVE_PAGES; page++) {
        const channels = await getLiveChannels(
          { categoryId: query.categoryId, limit: LIVE_PAGE_SIZE, offset: page * LIVE_PAGE_SIZE },
          options,
        );
        // Offsets shift while people go live or stop, so one channel can appear on two pages.
        for (const channel of channels) {
          if (seen.has(channel.user_id)) continue;
          seen.add(channel.user_id);
          all.push(channel);
        }
        if (channels.length < LIVE_PAGE_SIZE) return all;
      }
      logger.warn({ route: 'live', pages: MAX_LIVE_PAGES }, 'parti live list longer than the page cap; truncated');
      return all;
    },

    getRecentStreams: async (query = {}, options) => {
      const params = new URLSearchParams();
      params.set('sort_by_date_desc', flag(query.sortByDateDesc ?? true));
      if (query.byUserId !== undefined) {
        assertId('recent', query.byUserId, 'user id');
        params.set('by_user_id', int(query.byUserId));
      }
      if (query.fromTs !== undefined) params.set('from_ts', int(query.fromTs));
      if (query.toTs !== undefined) params.set('to_ts', int(query.toTs));
      if (query.followedOnly !== undefined) params.set('followed_only', flag(query.followedOnly));
      for (const category of query.categories ?? []) params.append('categories', int(category));
      params.set('offset', int(query.offset ?? 0));
      params.set('limit', int(query.limit ?? 15));
      if (query.topViewsSort !== undefined) params.set('top_views_sort', flag(query.topViewsSort));
      return get('recent', '/profile/get_livestream_channel_info/recent', params, RecentStreamListSchema, options);
    },

    getRecentStream: async (videoId, options) => {
      assertId('recent_by_id', videoId, 'video id');
      return get(
        'recent_by_id',
        `/profile/get_livestream_channel_info/recent/${videoId}`,
        undefined,
        RecentStreamSchema,
        options,
      );
    },

    getRecordingUrl: async (livestreamRecording) => {
      const recording = livestreamRecording?.trim();
      if (!recording) return null;
      if (/^https?:\/\//i.test(recording)) return recording;
      const path = `/${recording.replace(/^\/+/, '')}`;
      const base = await probeMedia(path);
      if (base === undefined) {
        logger.warn({ path, bases: mediaBases.bases }, 'no parti media base has this recording; using the one in use');
      }
      return recordingUrl(base ?? mediaBases.inUse(), path);
    },

    getCalendarEvents: async (query = {}, options) => {
      const params = new URLSearchParams({ offset: int(query.offset ?? 0), limit: int(query.limit ?? 100) });
      return get('calendar', '/profile/livestream_calendar/events', params, CalendarEventListSchema, options);
    },

    getCategories: async (options) =>
      get('categories', '/profile/livestream_calendar/events/categories', undefined, CategoryListSchema, options),

    getFeaturedChannels: async (options) =>
      get('featured', '/profile/featured_channels', undefined, FeaturedChannelListSchema, options),

    getModerators: async (userId, options) =>
      get(
        'moderators',
        userPath('moderators', 'livestream/moderators', userId),
        undefined,
        ModeratorListSchema,
        options,
      ),

    getGlobalModerators: async (options) =>
      get('global_moderators', '/profile/admin/global_mod/list', undefined, ModeratorListSchema, options),

    getUserFeed: async (userId, limit, options) => {
      const params = new URLSearchParams({ limit: int(limit ?? 5) });
      return get('feed', userPath('feed', 'user_profile_feed', userId), params, FeedItemListSchema, options);
    },

    getPinnedMessage: async (userId, options) =>
      get('pinned', userPath('pinned', 'pinned_message', userId), undefined, PinnedMessageListSchema, options),

    getPublicChat: async (userId, options) =>
      get('chat', userPath('chat', 'user_profile_chat', userId, '/public'), undefined, ChatMessageListSchema, options),

    getChatSettings: async (userId, options) =>
      get('chat_settings', userPath('chat_settings', 'chat_settings', userId), undefined, ChatSettingsSchema, options),

    getCurrencyInfo: async (userId, options) =>
      get('currency', userPath('currency', 'user_currency_info', userId), undefined, CurrencyInfoListSchema, options),

    getAssetPrices: async (options) =>
      get('asset_prices', '/profile/assets_prices/info', undefined, AssetPriceListSchema, options),

    close: async () => {
      if (closing.signal.aborted) return;
      closing.abort();
      inflight.clear();
      await dispatcher.destroy().catch(() => undefined);
    },
  };
}

/** Kinds worth trying again later (as opposed to "no such creator" or "Parti changed its API"). */
export function isTransientPartiError(kind: PartiErrorKind): boolean {
  return kind === 'challenge' || kind === 'rate_limited' || kind === 'timeout' || kind === 'unavailable';
}
