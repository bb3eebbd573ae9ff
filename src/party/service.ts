// The watch-party service: every live party's room, its sockets and timers, persistence to
// store.parties, capacity, rate limits and tokens. The HTTP/WS routes (server.ts) and the Discord
// `/party` commands call the same methods, so a panel button and a player's socket obey the same
// rules. Sockets: each event is serialized once and the same frame goes to every socket; a socket
// whose send buffer is past a threshold gets nothing until it drains, then the latest state.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartiClient } from '../parti/client.js';
import type { Store } from '../store/index.js';
import { generateInviteCode, normalizeInviteCode } from './codes.js';
import { createMediaResolver, MediaError, type MediaResolver, type Playable } from './media.js';
import {
  clientMessageSchema,
  type ClipInfo,
  type ParticipantView,
  type PartyCommand,
  type PartyDetail,
  type PlaybackFields,
  type Role,
  type ServerMessage,
  type Visibility,
} from './protocol.js';
import { createMemoryRateLimiter, type RateLimiter } from './rateLimit.js';
import { clipInfo, DEFAULT_MAX_PARTICIPANTS, PartyRoom, type Clip, type PartyRecord, type RoomResult } from './room.js';
import {
  createTokenSigner,
  GUEST_TOKEN_TTL_SECONDS,
  loadPartySecret,
  type TokenClaims,
  type TokenSigner,
} from './tokens.js';

const HOUR = 60 * 60 * 1000;

export interface PartyLimits {
  createsPerHour: number;
  joinsPerHour: number;
  guestTokensPerHour: number;
  /** Sustained client messages per second per socket (token bucket refill). */
  wsMessagesPerSecond: number;
  /** Client messages a socket may send at once before the bucket is empty. */
  wsBurst: number;
  /** Invalid or over-limit messages within wsViolationWindowMs before the socket is closed with 1008. */
  wsMaxViolations: number;
  wsViolationWindowMs: number;
}

export const DEFAULT_LIMITS: PartyLimits = {
  createsPerHour: 10,
  joinsPerHour: 30,
  guestTokensPerHour: 30,
  wsMessagesPerSecond: 20,
  wsBurst: 40,
  wsMaxViolations: 10,
  wsViolationWindowMs: 10_000,
};

export interface PartyUser {
  id: string;
  name: string;
  avatar?: string | null | undefined;
}

export interface PartyServiceOptions {
  store: Pick<Store, 'parties' | 'meta'>;
  parti: PartiClient;
  config: Pick<Config, 'PUBLIC_URL' | 'PARTI_MEDIA_URL' | 'PARTY_MAX_PARTICIPANTS'> & {
    PARTY_SECRET?: string | undefined;
  };
  logger: Logger;
  now?: () => number;
  /** An empty party ends after this long. Default 30 min. */
  quietEndMs?: number;
  /** A participant whose last socket closed stays present this long (reconnects are silent). Default 20 s. */
  graceMs?: number;
  /** Someone who joined over REST or Discord but has not connected yet stays present this long. Default 5 min. */
  joinHoldMs?: number;
  /** Protocol ping period; a socket that has not answered the previous ping is terminated. Default 15 s. */
  pingIntervalMs?: number;
  /** Coalescing delay of store writes. Default 250 ms. */
  persistDelayMs?: number;
  /** A socket with more than this many bytes unsent gets no events until it drains. Default 256 KiB. */
  slowClientBytes?: number;
  /** How often stalled sockets are checked for having drained. Default 100 ms. */
  drainCheckMs?: number;
  rateLimiter?: RateLimiter;
  limits?: Partial<PartyLimits>;
  metrics?: Pick<MetricsHooks, 'partyMessageIn' | 'partyMessagesOut'> | undefined;
}

export type PartyErrorCode =
  | 'PARTY_NOT_FOUND'
  | 'PARTY_FULL'
  | 'NOT_HOST'
  | 'NOT_ALLOWED'
  | 'NOT_PARTICIPANT'
  | 'FORBIDDEN'
  | 'INVALID_INPUT'
  | 'INVALID_SOURCE'
  | 'UNPLAYABLE_SOURCE'
  | 'PARTI_UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'TOKEN_EXPIRED'
  | 'RATE_LIMITED'
  | (string & {});

/** A failure that is safe to show (UserError), with the HTTP status and code the REST API answers. */
export class PartyError extends UserError {
  override name = 'PartyError';
  constructor(
    readonly status: number,
    readonly code: PartyErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface CreatePartyInput {
  host: PartyUser;
  source?: string | undefined;
  title?: string | undefined;
  visibility?: Visibility | undefined;
  maxParticipants?: number | undefined;
  /** Hold playback while anyone's player is buffering (capped), instead of letting them catch up. */
  waitForEveryone?: boolean | undefined;
  /** The caller's IP, for per-IP limits (REST); absent for Discord. */
  ip?: string | undefined;
}

export interface CreatedParty {
  id: string;
  invite_code: string;
  invite_url: string;
  party: {
    id: string;
    host_user_id: string;
    title: string;
    visibility: Visibility;
    max_participants: number;
    created_at: string;
  };
  /** The whole party as GET /:id shows it. */
  detail: PartyDetail;
  /** A token for the host, scoped to this party, for the web player. */
  token: string;
  expires_at: string;
}

export interface JoinResult {
  party: PartyDetail;
  invite_url: string;
  role: Role;
  /** A token for this user scoped to this party, for the web player. */
  token: string;
  expires_at: string;
}

export interface GuestJoinResult extends JoinResult {
  user: { id: string; display_name: string };
}

export interface PlayableAnswer {
  clip_id: string;
  url: string;
  media_type: Playable['mediaType'];
  /** Ask again after this (ISO 8601); null for direct URLs, which never change. */
  refresh_after: string | null;
}

export interface PartyServiceEvents {
  /** After every coalesced change of a party (at most one per persist delay): refresh a panel. */
  state: [party: PartyDetail];
  ended: [info: { party: PartyDetail; reason: 'host' | 'idle' }];
}

export interface PartyService {
  createParty(input: CreatePartyInput): Promise<CreatedParty>;
  joinByCode(code: string, user: PartyUser, options?: JoinOptions): Promise<JoinResult>;
  /** A guest token scoped to a public party, and the guest joined (rate-limited per IP). */
  joinAsGuest(code: string, displayName: string, ip: string): Promise<GuestJoinResult>;
  leave(partyId: string, userId: string): Promise<void>;
  issueToken(
    user: PartyUser,
    partyId?: string,
    options?: { ttlSeconds?: number },
  ): Promise<{ token: string; expires_at: string }>;
  verifyToken(token: string | null | undefined): Promise<TokenClaims>;
  /** The same room logic as the socket: play, pause, seek, skip, set-rate, clip-duration, sync-request. */
  command(partyId: string, actorUserId: string, command: PartyCommand): Promise<PlaybackFields>;
  addClip(
    partyId: string,
    actorUserId: string,
    source: string,
    title?: string,
  ): Promise<{ clip: ClipInfo; queue: ClipInfo[] }>;
  promoteCohost(partyId: string, actorUserId: string, targetUserId: string): Promise<ParticipantView>;
  demoteCohost(partyId: string, actorUserId: string, targetUserId: string): Promise<ParticipantView>;
  endParty(partyId: string, actorUserId: string): Promise<void>;
  getParty(partyId: string): PartyDetail | null;
  findByCode(code: string): PartyDetail | null;
  /** May this token's holder see a party's details (private parties: members only)? Throws PartyError. */
  assertCanView(partyId: string, claims: TokenClaims | null): PartyDetail;
  playable(partyId: string, userId: string, clipId?: string): Promise<PlayableAnswer>;
  /** Checks a socket may open and makes its user present; call right before the upgrade. Throws PartyError. */
  admitSocket(partyId: string, claims: TokenClaims): void;
  attachSocket(partyId: string, claims: TokenClaims, ws: WebSocket): void;
  /** Per-socket numbers, for tests and diagnostics. */
  socketStats(partyId: string): Array<{ userId: string; bufferedAmount: number; stale: boolean; skipped: number }>;
  on<E extends keyof PartyServiceEvents>(event: E, listener: (...args: PartyServiceEvents[E]) => void): () => void;
  /** Live parties, their participants and open sockets, for /metrics. */
  stats(): { parties: number; participants: number; sockets: number };
  /** Persists everything pending now. */
  flush(): Promise<void>;
  /** Closes every socket (1001), stops the timers and flushes; parties stay live for the next start. */
  close(): Promise<void>;
}

export interface JoinOptions {
  ip?: string | undefined;
  guest?: boolean | undefined;
  /** The party the caller's token is limited to, if any. */
  tokenPartyId?: string | null | undefined;
}

interface Conn {
  ws: WebSocket;
  userId: string;
  rt: Runtime;
  alive: boolean;
  stale: boolean;
  skipped: number;
  tokens: number;
  refilledAt: number;
  violations: number[];
  lastRateErrorAt: number;
}

interface Runtime {
  room: PartyRoom;
  conns: Set<Conn>;
  byUser: Map<string, Set<Conn>>;
  /** Pending "this user leaves unless they (re)connect" timers. */
  leaveTimers: Map<string, NodeJS.Timeout>;
  /** Fires when the room's nextDeadline() comes (a wait-for-everyone hold's cap). */
  tickTimer: NodeJS.Timeout | undefined;
  emptySince: number | null;
}

const INDEX_KEY = 'index';
const recordKey = (id: string): string => `party:${id}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TITLE = 100;
const MAX_NAME = 32;

const notFound = (): PartyError => new PartyError(404, 'PARTY_NOT_FOUND', 'party not found or has ended');

function toPartyError(error: unknown): unknown {
  if (error instanceof MediaError) {
    return new PartyError(error.code === 'PARTI_UNAVAILABLE' ? 502 : 400, error.code, error.message);
  }
  return error;
}

function roomFailure(result: RoomResult): PartyError | null {
  return result.ok ? null : new PartyError(result.error.status, result.error.code, result.error.message);
}

/** Runs synchronous work (state changes happen in this tick) and answers as a promise, throws included. */
function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function cleanName(name: string): string {
  // Control characters and bidi overrides would let a name rewrite the text around it.
  return [...name]
    .filter((char) => {
      const code = char.codePointAt(0) ?? 0;
      return (
        code >= 0x20 && code !== 0x7f && !(code >= 0x202a && code <= 0x202e) && !(code >= 0x2066 && code <= 0x2069)
      );
    })
    .join('')
    .trim()
    .slice(0, MAX_NAME);
}

export async function createPartyService(options: PartyServiceOptions): Promise<PartyService> {
  const { store, parti, config } = options;
  const log = options.logger.child({ module: 'party' });
  const now = options.now ?? Date.now;
  const quietEndMs = options.quietEndMs ?? 30 * 60_000;
  const graceMs = options.graceMs ?? 20_000;
  const joinHoldMs = options.joinHoldMs ?? 5 * 60_000;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const persistDelayMs = options.persistDelayMs ?? 250;
  const slowClientBytes = options.slowClientBytes ?? 256 * 1024;
  const drainCheckMs = options.drainCheckMs ?? 100;
  const limits: PartyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const rateLimiter = options.rateLimiter ?? createMemoryRateLimiter(now);
  const media: MediaResolver = createMediaResolver({ parti, mediaBaseUrl: config.PARTI_MEDIA_URL, now });
  const signer: TokenSigner = createTokenSigner(await loadPartySecret(store.meta, config.PARTY_SECRET), now);
  const emitter = new EventEmitter();

  const runtimes = new Map<string, Runtime>();
  const codes = new Map<string, string>();
  const dirty = new Set<string>();
  const deleted = new Set<string>();
  let indexDirty = false;
  let flushTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;
  const staleConns = new Set<Conn>();
  let drainTimer: NodeJS.Timeout | undefined;

  // ---------------------------------------------------------------------------------------------
  // Persistence: the room's durable state, written at most once per persistDelayMs per party.

  function markDirty(rt: Runtime): void {
    dirty.add(rt.room.id);
    if (!flushTimer && !closed) {
      flushTimer = setTimeout(() => {
        flushTimer = undefined;
        void flush().catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
      }, persistDelayMs);
    }
  }

  function flush(): Promise<void> {
    if (flushTimer) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    // One writer at a time, so a slow write can never land after a newer one.
    const run = writing.then(async () => {
      const ids = [...dirty];
      dirty.clear();
      const gone = [...deleted];
      deleted.clear();
      const writeIndex = indexDirty;
      indexDirty = false;
      for (const id of ids) {
        const rt = runtimes.get(id);
        if (!rt) continue;
        await store.parties.set(recordKey(id), rt.room.toRecord());
      }
      for (const id of gone) await store.parties.delete(recordKey(id));
      if (writeIndex) await store.parties.set(INDEX_KEY, [...runtimes.keys()]);
      for (const id of ids) {
        const rt = runtimes.get(id);
        if (rt) emitter.emit('state', rt.room.detail(now()));
      }
    });
    writing = run.catch(() => undefined);
    return run;
  }

  async function loadParties(): Promise<void> {
    const ids = (await store.parties.get<string[]>(INDEX_KEY)) ?? [];
    for (const id of ids) {
      const record = await store.parties.get<PartyRecord>(recordKey(id));
      if (record?.v !== 1) continue;
      const rt = addRuntime(PartyRoom.fromRecord(record, config.PUBLIC_URL));
      // Nobody has a socket after a restart; people who were there get time to reconnect.
      for (const member of rt.room.presentMembers()) scheduleLeave(rt, member.userId, joinHoldMs);
      scheduleTick(rt);
    }
    if (runtimes.size > 0) log.info({ parties: runtimes.size }, 'watch parties restored');
  }

  function addRuntime(room: PartyRoom): Runtime {
    const rt: Runtime = {
      room,
      conns: new Set(),
      byUser: new Map(),
      leaveTimers: new Map(),
      tickTimer: undefined,
      emptySince: null,
    };
    runtimes.set(room.id, rt);
    codes.set(room.inviteCode, room.id);
    return rt;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  function frameOf(message: ServerMessage): Buffer {
    return Buffer.from(JSON.stringify(message));
  }

  /** The one place a frame reaches a socket: never onto a socket that is past the threshold. */
  function sendFrame(conn: Conn, frame: Buffer): void {
    const { ws } = conn;
    if (ws.readyState !== ws.OPEN) return;
    if (conn.stale) {
      conn.skipped++;
      return;
    }
    if (ws.bufferedAmount > slowClientBytes) {
      conn.stale = true;
      conn.skipped++;
      staleConns.add(conn);
      drainTimer ??= setInterval(checkDrained, drainCheckMs);
      return;
    }
    ws.send(frame, { binary: false });
    options.metrics?.partyMessagesOut(1);
  }

  function broadcast(rt: Runtime, message: ServerMessage): void {
    if (rt.conns.size === 0) return;
    const frame = frameOf(message);
    for (const conn of rt.conns) sendFrame(conn, frame);
  }

  function sendTo(conn: Conn, message: ServerMessage): void {
    sendFrame(conn, frameOf(message));
  }

  /** A drained socket gets the whole state, then the timeline as of now: whatever it missed is covered. */
  function checkDrained(): void {
    for (const conn of staleConns) {
      if (conn.ws.readyState !== conn.ws.OPEN || !conn.rt.conns.has(conn)) {
        staleConns.delete(conn);
        continue;
      }
      if (conn.ws.bufferedAmount > slowClientBytes / 4) continue;
      staleConns.delete(conn);
      conn.stale = false;
      const at = now();
      sendTo(conn, conn.rt.room.stateMessage(conn.userId, at));
      sendTo(conn, conn.rt.room.syncMessage(at));
    }
    if (staleConns.size === 0 && drainTimer) {
      clearInterval(drainTimer);
      drainTimer = undefined;
    }
  }

  function dispatch(rt: Runtime, result: RoomResult, actor: Conn | null): void {
    if (!result.ok) return;
    for (const event of result.events) {
      if (event.to === 'all') broadcast(rt, event.message);
      else if (actor) sendTo(actor, event.message);
    }
    if (result.changed) markDirty(rt);
    scheduleTick(rt);
  }

  /** Keeps one timer per room at its next deadline, so a capped hold ends even if nobody acts. */
  function scheduleTick(rt: Runtime): void {
    clearTimeout(rt.tickTimer);
    rt.tickTimer = undefined;
    const due = rt.room.nextDeadline();
    if (due === null || closed || runtimes.get(rt.room.id) !== rt) return;
    rt.tickTimer = setTimeout(() => dispatch(rt, rt.room.tick(now()), null), Math.max(0, due - now()));
    rt.tickTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------
  // Presence

  function scheduleLeave(rt: Runtime, userId: string, afterMs: number): void {
    clearTimeout(rt.leaveTimers.get(userId));
    const timer = setTimeout(() => {
      rt.leaveTimers.delete(userId);
      if (rt.byUser.get(userId)?.size) return;
      dispatch(rt, rt.room.leave(userId, now()), null);
    }, afterMs);
    timer.unref();
    rt.leaveTimers.set(userId, timer);
  }

  function runtimeOf(partyId: string): Runtime {
    const rt = UUID.test(partyId) ? runtimes.get(partyId.toLowerCase()) : undefined;
    if (!rt) throw notFound();
    return rt;
  }

  function runtimeByCode(code: string): Runtime {
    const normalized = normalizeInviteCode(code);
    const id = normalized ? codes.get(normalized) : undefined;
    const rt = id ? runtimes.get(id) : undefined;
    if (!rt) throw notFound();
    return rt;
  }

  /** Scope and privacy rules for becoming present in a party. */
  function assertMayJoin(rt: Runtime, user: { guest: boolean; id: string }, tokenPartyId: string | null): void {
    if (tokenPartyId !== null && tokenPartyId !== rt.room.id) {
      throw new PartyError(403, 'FORBIDDEN', 'this token is for another party');
    }
    if (user.guest && (rt.room.visibility !== 'public' || tokenPartyId !== rt.room.id)) {
      throw new PartyError(403, 'FORBIDDEN', 'guests can only join the public party they were invited to');
    }
  }

  async function limit(key: string, count: number, message: string): Promise<void> {
    const decision = await rateLimiter.hit(key, count, HOUR);
    if (!decision.ok) {
      throw new PartyError(429, 'RATE_LIMITED', message, Math.ceil(decision.retryAfterMs / 1000));
    }
  }

  function joinRoom(rt: Runtime, user: PartyUser & { guest?: boolean | undefined }): void {
    const result = rt.room.join(
      { id: user.id, name: cleanName(user.name) || 'Guest', avatar: user.avatar ?? null, guest: user.guest === true },
      now(),
      randomUUID,
    );
    const failure = roomFailure(result);
    if (failure) throw failure;
    dispatch(rt, result, null);
    if (!rt.byUser.get(user.id)?.size && !rt.leaveTimers.has(user.id)) scheduleLeave(rt, user.id, joinHoldMs);
    rt.emptySince = null;
  }

  async function scopedToken(
    rt: Runtime,
    user: PartyUser,
    guest: boolean,
  ): Promise<{ token: string; expires_at: string }> {
    const role = rt.room.member(user.id)?.role ?? 'viewer';
    const { token, expiresAt } = await signer.sign(
      { id: user.id, name: cleanName(user.name) || 'Guest', avatar: user.avatar ?? null },
      { partyId: rt.room.id, roleHint: role, guest, ...(guest ? { ttlSeconds: GUEST_TOKEN_TTL_SECONDS } : {}) },
    );
    return { token, expires_at: expiresAt.toISOString() };
  }

  // ---------------------------------------------------------------------------------------------
  // Ending

  function endRuntime(rt: Runtime, result: RoomResult, reason: 'host' | 'idle'): void {
    dispatch(rt, result, null);
    const detail = rt.room.detail(now());
    runtimes.delete(rt.room.id);
    codes.delete(rt.room.inviteCode);
    for (const timer of rt.leaveTimers.values()) clearTimeout(timer);
    rt.leaveTimers.clear();
    clearTimeout(rt.tickTimer);
    for (const conn of rt.conns) conn.ws.close(1000, 'party ended');
    rt.conns.clear();
    rt.byUser.clear();
    dirty.delete(rt.room.id);
    deleted.add(rt.room.id);
    indexDirty = true;
    log.info({ partyId: rt.room.id, reason }, 'watch party ended');
    emitter.emit('ended', { party: detail, reason });
  }

  const sweepEveryMs = Math.max(10, Math.min(60_000, Math.floor(quietEndMs / 2)));
  const sweeper = setInterval(() => {
    const at = now();
    for (const rt of [...runtimes.values()]) {
      if (rt.conns.size > 0 || rt.room.presentMembers().length > 0) {
        rt.emptySince = null;
        continue;
      }
      rt.emptySince ??= at;
      if (at - rt.emptySince >= quietEndMs) {
        endRuntime(rt, rt.room.end(null, at), 'idle');
        void flush().catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
      }
    }
  }, sweepEveryMs);
  sweeper.unref();

  // ---------------------------------------------------------------------------------------------
  // Sockets

  function violation(conn: Conn, code: string, message: string, requestType: string | null): void {
    const at = now();
    conn.violations.push(at);
    while ((conn.violations[0] ?? at) <= at - limits.wsViolationWindowMs) conn.violations.shift();
    if (conn.violations.length > limits.wsMaxViolations) {
      log.warn({ partyId: conn.rt.room.id, userId: conn.userId, code }, 'party socket closed for policy violations');
      conn.ws.close(1008, 'policy violation');
      return;
    }
    // A flood must not be answered with a flood: one rate-limit error per second at most.
    if (code === 'RATE_LIMITED') {
      if (at - conn.lastRateErrorAt < 1000) return;
      conn.lastRateErrorAt = at;
    }
    sendTo(conn, { type: 'error', code, message, request_type: requestType });
  }

  function takeToken(conn: Conn): boolean {
    const at = now();
    conn.tokens = Math.min(limits.wsBurst, conn.tokens + ((at - conn.refilledAt) / 1000) * limits.wsMessagesPerSecond);
    conn.refilledAt = at;
    if (conn.tokens < 1) return false;
    conn.tokens -= 1;
    return true;
  }

  function onMessage(conn: Conn, data: RawData, isBinary: boolean): void {
    conn.alive = true;
    if (!conn.rt.conns.has(conn)) return;
    if (!takeToken(conn)) {
      violation(conn, 'RATE_LIMITED', `at most ${limits.wsMessagesPerSecond} messages per second`, null);
      return;
    }
    if (isBinary) {
      violation(conn, 'INVALID_MESSAGE', 'messages are JSON text', null);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(
        Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8'),
      );
    } catch {
      violation(conn, 'INVALID_JSON', 'message is not JSON', null);
      return;
    }
    const parsed = clientMessageSchema.safeParse(json);
    const requestType =
      typeof json === 'object' && json !== null && typeof (json as { type?: unknown }).type === 'string'
        ? String((json as { type: string }).type).slice(0, 32)
        : null;
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      violation(conn, 'INVALID_MESSAGE', `${where}${issue?.message ?? 'invalid message'}`, requestType);
      return;
    }
    const message = parsed.data;
    options.metrics?.partyMessageIn(message.type);
    const { rt } = conn;
    if (message.party_id !== undefined && message.party_id !== rt.room.id) {
      violation(conn, 'WRONG_PARTY', 'party_id is not the party of this socket', message.type);
      return;
    }
    if (message.type === 'ping') {
      sendTo(conn, { type: 'pong', client_time: message.client_time, server_time_ms: now() });
      return;
    }
    const result = rt.room.applyCommand(conn.userId, message, now());
    if (!result.ok) {
      sendTo(conn, {
        type: 'error',
        code: result.error.code,
        message: result.error.message,
        request_type: message.type,
      });
      return;
    }
    dispatch(rt, result, conn);
    if (message.type === 'skip') prefetchCurrent(rt);
  }

  function detach(conn: Conn): void {
    const { rt } = conn;
    if (!rt.conns.delete(conn)) return;
    staleConns.delete(conn);
    const mine = rt.byUser.get(conn.userId);
    mine?.delete(conn);
    if (mine && mine.size === 0) {
      rt.byUser.delete(conn.userId);
      // Silent if they come back within the grace period (a reload, a network blip).
      if (runtimes.get(rt.room.id) === rt) scheduleLeave(rt, conn.userId, graceMs);
    }
  }

  const allConns = (): Conn[] => [...runtimes.values()].flatMap((rt) => [...rt.conns]);

  const keepAlive = setInterval(() => {
    for (const conn of allConns()) {
      if (!conn.alive) {
        log.debug({ partyId: conn.rt.room.id, userId: conn.userId }, 'party socket missed a ping; terminated');
        conn.ws.terminate();
        detach(conn);
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, pingIntervalMs);
  keepAlive.unref();

  function prefetchCurrent(rt: Runtime): void {
    const clip = rt.room.currentClip();
    if (!clip) return;
    media.playable(clip.source).catch((error: unknown) => {
      log.warn({ partyId: rt.room.id, clipId: clip.id, err: error }, 'could not resolve the clip now playing');
    });
  }

  // ---------------------------------------------------------------------------------------------

  await loadParties();

  const service: PartyService = {
    async createParty(input) {
      const hostName = cleanName(input.host.name);
      if (!hostName) throw new PartyError(400, 'INVALID_INPUT', 'the host needs a display name');
      const max = input.maxParticipants ?? DEFAULT_MAX_PARTICIPANTS;
      if (!Number.isInteger(max) || max < 2 || max > config.PARTY_MAX_PARTICIPANTS) {
        throw new PartyError(400, 'INVALID_INPUT', `max_participants must be 2 to ${config.PARTY_MAX_PARTICIPANTS}`);
      }
      const title = (input.title ?? '').trim().slice(0, MAX_TITLE) || `${hostName}'s watch party`;
      await limit(`create:user:${input.host.id}`, limits.createsPerHour, 'at most 10 parties per hour');
      const resolved =
        input.source === undefined
          ? null
          : await media.resolveNew(input.source).catch((error: unknown) => {
              throw toPartyError(error);
            });
      const at = now();
      const room = PartyRoom.create({
        id: randomUUID(),
        inviteCode: generateInviteCode((code) => codes.has(code)),
        title,
        visibility: input.visibility ?? 'private',
        maxParticipants: max,
        waitForEveryone: input.waitForEveryone === true,
        host: { id: input.host.id, name: hostName, avatar: input.host.avatar ?? null, guest: false },
        hostParticipantId: randomUUID(),
        publicUrl: config.PUBLIC_URL,
        now: at,
      });
      if (resolved) {
        room.appendClip(
          {
            id: randomUUID(),
            title: resolved.title,
            source: resolved.source,
            mediaType: resolved.mediaType,
            duration: null,
            thumbnailUrl: resolved.thumbnailUrl,
            addedBy: input.host.id,
            addedAt: at,
          },
          at,
          input.host.id,
        );
      }
      const rt = addRuntime(room);
      scheduleLeave(rt, input.host.id, joinHoldMs);
      indexDirty = true;
      markDirty(rt);
      await flush();
      log.info({ partyId: room.id, hostId: input.host.id, visibility: room.visibility }, 'watch party created');
      const detail = room.detail(now());
      return {
        id: room.id,
        invite_code: room.inviteCode,
        invite_url: room.inviteUrl,
        party: {
          id: room.id,
          host_user_id: room.hostUserId,
          title: room.title,
          visibility: room.visibility,
          max_participants: room.maxParticipants,
          created_at: detail.created_at,
        },
        detail,
        ...(await scopedToken(rt, input.host, false)),
      };
    },

    async joinByCode(code, user, joinOptions = {}) {
      runtimeByCode(code);
      const guest = joinOptions.guest === true;
      await limit(`join:user:${user.id}`, limits.joinsPerHour, 'at most 30 joins per hour');
      if (guest && joinOptions.ip)
        await limit(`join:ip:${joinOptions.ip}`, limits.joinsPerHour, 'at most 30 joins per hour');
      // Looked up again after the await: the party may have ended meanwhile.
      const rt = runtimeByCode(code);
      assertMayJoin(rt, { guest, id: user.id }, joinOptions.tokenPartyId ?? null);
      joinRoom(rt, { ...user, guest });
      const detail = rt.room.detail(now());
      return {
        party: detail,
        invite_url: rt.room.inviteUrl,
        role: rt.room.member(user.id)?.role ?? 'viewer',
        ...(await scopedToken(rt, user, guest)),
      };
    },

    async joinAsGuest(code, displayName, ip) {
      const name = cleanName(displayName);
      if (!name) throw new PartyError(400, 'INVALID_INPUT', 'display_name must not be empty');
      const first = runtimeByCode(code);
      if (first.room.visibility !== 'public') {
        throw new PartyError(403, 'FORBIDDEN', 'this party is private: ask the host for an invite in Discord');
      }
      await limit(`guest:ip:${ip}`, limits.guestTokensPerHour, 'too many guest joins from this address; try later');
      const rt = runtimeByCode(code);
      const user = { id: `guest:${randomUUID()}`, name };
      joinRoom(rt, { ...user, guest: true });
      return {
        party: rt.room.detail(now()),
        invite_url: rt.room.inviteUrl,
        role: 'viewer',
        user: { id: user.id, display_name: name },
        ...(await scopedToken(rt, user, true)),
      };
    },

    leave: (partyId, userId) =>
      settle(() => {
        const rt = runtimeOf(partyId);
        if (!rt.room.member(userId)?.present) throw new PartyError(403, 'NOT_PARTICIPANT', 'you are not in this party');
        clearTimeout(rt.leaveTimers.get(userId));
        rt.leaveTimers.delete(userId);
        dispatch(rt, rt.room.leave(userId, now()), null);
        // Their open tabs go too; closing them must not start a grace period for someone who left.
        for (const conn of rt.byUser.get(userId) ?? []) {
          rt.conns.delete(conn);
          conn.ws.close(1000, 'left the party');
        }
        rt.byUser.delete(userId);
      }),

    async issueToken(user, partyId, tokenOptions = {}) {
      const rt = partyId === undefined ? undefined : runtimeOf(partyId);
      const { token, expiresAt } = await signer.sign(
        { id: user.id, name: cleanName(user.name) || user.id, avatar: user.avatar ?? null },
        {
          partyId: rt?.room.id ?? null,
          roleHint: rt?.room.member(user.id)?.role ?? null,
          ttlSeconds: tokenOptions.ttlSeconds,
        },
      );
      return { token, expires_at: expiresAt.toISOString() };
    },

    verifyToken: (token) => signer.verify(token),

    command: (partyId, actorUserId, command) =>
      settle(() => {
        const rt = runtimeOf(partyId);
        const result = rt.room.applyCommand(actorUserId, command, now());
        const failure = roomFailure(result);
        if (failure) throw failure;
        dispatch(rt, result, null);
        if (command.type === 'skip') prefetchCurrent(rt);
        return rt.room.playback(now(), actorUserId);
      }),

    async addClip(partyId, actorUserId, source, title) {
      const before = runtimeOf(partyId);
      const role = before.room.member(actorUserId)?.role;
      if (role === undefined) throw new PartyError(403, 'NOT_PARTICIPANT', 'join the party first');
      if (role === 'viewer') throw new PartyError(403, 'NOT_ALLOWED', 'only the host and co-hosts add clips');
      const resolved = await media.resolveNew(source).catch((error: unknown) => {
        throw toPartyError(error);
      });
      const rt = runtimeOf(partyId);
      const at = now();
      const clip: Clip = {
        id: randomUUID(),
        title: title?.trim().slice(0, MAX_TITLE) || resolved.title,
        source: resolved.source,
        mediaType: resolved.mediaType,
        duration: null,
        thumbnailUrl: resolved.thumbnailUrl,
        addedBy: actorUserId,
        addedAt: at,
      };
      const result = rt.room.addClip(actorUserId, clip, at);
      const failure = roomFailure(result);
      if (failure) throw failure;
      dispatch(rt, result, null);
      return { clip: clipInfo(clip), queue: rt.room.detail(at).queue };
    },

    promoteCohost: (partyId, actorUserId, targetUserId) => setRole(partyId, actorUserId, targetUserId, 'co-host'),
    demoteCohost: (partyId, actorUserId, targetUserId) => setRole(partyId, actorUserId, targetUserId, 'viewer'),

    async endParty(partyId, actorUserId) {
      const rt = runtimeOf(partyId);
      const result = rt.room.end(actorUserId, now());
      const failure = roomFailure(result);
      if (failure) throw failure;
      endRuntime(rt, result, 'host');
      await flush();
    },

    stats() {
      let participants = 0;
      let sockets = 0;
      for (const rt of runtimes.values()) {
        participants += rt.room.presentMembers().length;
        sockets += rt.conns.size;
      }
      return { parties: runtimes.size, participants, sockets };
    },

    getParty(partyId) {
      const rt = UUID.test(partyId) ? runtimes.get(partyId.toLowerCase()) : undefined;
      return rt ? rt.room.detail(now()) : null;
    },

    findByCode(code) {
      const normalized = normalizeInviteCode(code);
      const id = normalized ? codes.get(normalized) : undefined;
      const rt = id ? runtimes.get(id) : undefined;
      return rt ? rt.room.detail(now()) : null;
    },

    assertCanView(partyId, claims) {
      const rt = runtimeOf(partyId);
      if (rt.room.visibility === 'private') {
        if (!claims) throw new PartyError(401, 'UNAUTHORIZED', 'this party is private: a token is required');
        if (!rt.room.member(claims.user.id) && claims.partyId !== rt.room.id) {
          throw new PartyError(403, 'FORBIDDEN', 'this party is private');
        }
      }
      return rt.room.detail(now());
    },

    async playable(partyId, userId, clipId) {
      const rt = runtimeOf(partyId);
      if (!rt.room.member(userId)) throw new PartyError(403, 'NOT_PARTICIPANT', 'join the party first');
      const clip = clipId === undefined ? rt.room.currentClip() : rt.room.clip(clipId);
      if (!clip) {
        throw clipId === undefined
          ? new PartyError(409, 'EMPTY_QUEUE', 'nothing is playing')
          : new PartyError(404, 'UNKNOWN_CLIP', 'no such clip in the queue');
      }
      const playable = await media.playable(clip.source).catch((error: unknown) => {
        throw toPartyError(error);
      });
      return {
        clip_id: clip.id,
        url: playable.url,
        media_type: playable.mediaType,
        refresh_after: Number.isFinite(playable.expiresAt) ? new Date(playable.expiresAt).toISOString() : null,
      };
    },

    admitSocket(partyId, claims) {
      const rt = runtimeOf(partyId);
      const member = rt.room.member(claims.user.id);
      assertMayJoin(rt, { guest: claims.guest, id: claims.user.id }, claims.partyId);
      // A private party's id alone is not an invitation: the user must have joined by code, or hold
      // a token the bot scoped to this party.
      if (rt.room.visibility === 'private' && !member && claims.partyId !== rt.room.id) {
        throw new PartyError(403, 'FORBIDDEN', 'join this private party with its invite code first');
      }
      joinRoom(rt, { id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar, guest: claims.guest });
    },

    attachSocket(partyId, claims, ws) {
      const rt = runtimes.get(partyId.toLowerCase());
      const userId = claims.user.id;
      if (!rt || closed) {
        ws.close(1001, 'party not available');
        return;
      }
      const conn: Conn = {
        ws,
        userId,
        rt,
        alive: true,
        stale: false,
        skipped: 0,
        tokens: limits.wsBurst,
        refilledAt: now(),
        violations: [],
        lastRateErrorAt: 0,
      };
      clearTimeout(rt.leaveTimers.get(userId));
      rt.leaveTimers.delete(userId);
      if (!rt.room.member(userId)?.present) {
        // The hold expired between admission and upgrade; joining again keeps the rules in one place.
        try {
          joinRoom(rt, { id: userId, name: claims.user.name, avatar: claims.user.avatar, guest: claims.guest });
        } catch (error) {
          const message = error instanceof PartyError ? error.message : 'could not join';
          ws.close(1008, message.slice(0, 120));
          return;
        }
        clearTimeout(rt.leaveTimers.get(userId));
        rt.leaveTimers.delete(userId);
      }
      rt.conns.add(conn);
      const mine = rt.byUser.get(userId) ?? new Set<Conn>();
      mine.add(conn);
      rt.byUser.set(userId, mine);
      rt.emptySince = null;
      ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
      ws.on('pong', () => {
        conn.alive = true;
      });
      ws.on('close', () => detach(conn));
      ws.on('error', (error) => {
        log.debug({ partyId: rt.room.id, userId, err: error }, 'party socket error');
        detach(conn);
      });
      sendTo(conn, rt.room.stateMessage(userId, now()));
    },

    socketStats(partyId) {
      const rt = runtimes.get(partyId);
      return [...(rt?.conns ?? [])].map((conn) => ({
        userId: conn.userId,
        bufferedAmount: conn.ws.bufferedAmount,
        stale: conn.stale,
        skipped: conn.skipped,
      }));
    },

    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return () => emitter.off(event, listener as (...args: unknown[]) => void);
    },

    flush,

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      clearInterval(sweeper);
      if (drainTimer) clearInterval(drainTimer);
      for (const rt of runtimes.values()) {
        for (const timer of rt.leaveTimers.values()) clearTimeout(timer);
        rt.leaveTimers.clear();
        clearTimeout(rt.tickTimer);
        for (const conn of rt.conns) conn.ws.close(1001, 'server shutting down');
        rt.conns.clear();
        rt.byUser.clear();
      }
      await flush();
    },
  };

  function setRole(
    partyId: string,
    actorUserId: string,
    targetUserId: string,
    role: 'co-host' | 'viewer',
  ): Promise<ParticipantView> {
    return settle(() => {
      const rt = runtimeOf(partyId);
      const result = rt.room.setRole(actorUserId, targetUserId, role, now());
      const failure = roomFailure(result);
      if (failure) throw failure;
      dispatch(rt, result, null);
      const view = rt.room.participantViews().find((participant) => participant.user_id === targetUserId);
      if (view) return view;
      // Someone who is away is not in the participant list; describe them from their membership.
      const member = rt.room.member(targetUserId);
      return {
        id: member?.participantId ?? targetUserId,
        user_id: targetUserId,
        role,
        joined_at: new Date(member?.joinedAt ?? now()).toISOString(),
        user: {
          username: member?.displayName ?? targetUserId,
          display_name: member?.displayName ?? targetUserId,
          avatar_url: member?.avatarUrl ?? null,
        },
      };
    });
  }

  return service;
}
