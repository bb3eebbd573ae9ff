// The watch-party service: every party's room, its sockets and timers, persistence to
// store.parties, capacity, rate limits and tokens. The HTTP/WS routes (server.ts) and the Discord
// `/party` commands call the same methods, so a panel button and a player's socket obey the same
// rules. Sockets: each event is serialized once and the same frame goes to every socket; a socket
// whose send buffer is past a threshold gets nothing until it drains, then the latest state.
//
// Two halves. The owner side holds a party's room and applies every change to it (the `ops`
// table); the socket side holds this process's sockets of a party. In one process both are here
// for every party. With a PartyCluster (several processes on one Redis, cluster.ts) a party is
// owned by exactly one process: calls for a party owned elsewhere go there as requests, frames
// come back on the party's channel, and when an owner dies the next call takes the party over
// from the store.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { RawData, WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartiClient } from '../parti/client.js';
import type { Store } from '../store/index.js';
import type { PartyCluster } from './cluster.js';
import { generateInviteCode, normalizeInviteCode } from './codes.js';
import { notFound, PartyError, socketRefusal, toPartyError } from './errors.js';
import { createMediaResolver, type MediaResolver, type Playable } from './media.js';
import {
  clientMessageSchema,
  type ClipInfo,
  type ParticipantView,
  type PartyCommand,
  type PartyDetail,
  type PlaybackFields,
  type Role,
  type ServerMessage,
  type ServerMessageOf,
  type Visibility,
} from './protocol.js';
import { cleanName, createPartyOwner, ENDED, FRAME, KICK, MOVED, type PartyOps } from './owner.js';
import { createPartyOwnership, isPartyId } from './ownership.js';
import { createPartyPersistence } from './persistence.js';
import { createMemoryRateLimiter, type RateLimiter } from './rateLimit.js';
import { DEFAULT_MAX_PARTICIPANTS, PartyRoom, type Clip, type JoiningUser } from './room.js';
import {
  createTokenSigner,
  GUEST_TOKEN_TTL_SECONDS,
  loadPartySecret,
  type TokenClaims,
  type TokenSigner,
} from './tokens.js';

// The front's callers (and tests) may take its errors from here as well.
export { PartyError, socketRefusal, type PartyErrorCode } from './errors.js';

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
  store: Pick<Store, 'parties' | 'meta' | 'lease'>;
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
  /**
   * Coalescing delay of a party's full record in the store. Default 250 ms. The timeline (position,
   * playing, seq) is written at once on every change, so a restart or takeover never jumps back.
   */
  persistDelayMs?: number;
  /** A socket with more than this many bytes unsent gets no events until it drains. Default 256 KiB. */
  slowClientBytes?: number;
  /** How often stalled sockets are checked for having drained. Default 100 ms. */
  drainCheckMs?: number;
  rateLimiter?: RateLimiter;
  limits?: Partial<PartyLimits>;
  /** Several processes on one Redis: parties are owned by one process each and relayed between them. */
  cluster?: PartyCluster | undefined;
  /** How long a party's owner lease lasts unrenewed; a dead owner's parties move this long after. Default 10 s. */
  ownerLeaseMs?: number;
  /** How long another process is given to answer a request. Default 2 s. */
  requestTimeoutMs?: number;
  metrics?: Pick<MetricsHooks, 'partyMessageIn' | 'partyMessagesOut'> | undefined;
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
    wait_for_everyone: boolean;
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
  getParty(partyId: string): Promise<PartyDetail | null>;
  findByCode(code: string): Promise<PartyDetail | null>;
  /** May this token's holder see a party's details (private parties: members only)? Throws PartyError. */
  assertCanView(partyId: string, claims: TokenClaims | null): Promise<PartyDetail>;
  playable(partyId: string, userId: string, clipId?: string): Promise<PlayableAnswer>;
  /** Checks a socket may open and makes its user present; call right before the upgrade. Throws PartyError. */
  admitSocket(partyId: string, claims: TokenClaims): Promise<void>;
  attachSocket(partyId: string, claims: TokenClaims, ws: WebSocket): void;
  /** Per-socket numbers, for tests and diagnostics. */
  socketStats(partyId: string): Array<{ userId: string; bufferedAmount: number; stale: boolean; skipped: number }>;
  on<E extends keyof PartyServiceEvents>(event: E, listener: (...args: PartyServiceEvents[E]) => void): () => void;
  /** The parties this process owns, their participants, and this process's open sockets, for /metrics. */
  stats(): { parties: number; participants: number; sockets: number };
  /** Persists everything pending now. */
  flush(): Promise<void>;
  /**
   * Closes every socket (1001), stops the timers and flushes; parties stay live for the next start
   * (with a cluster, another process takes them over at once).
   */
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
  group: SocketGroup;
  /** False until the first `state` went out; frames before it are already in that state. */
  ready: boolean;
  alive: boolean;
  stale: boolean;
  skipped: number;
  tokens: number;
  refilledAt: number;
  violations: number[];
  lastRateErrorAt: number;
}

/** This process's sockets of one party (wherever the party is owned). */
interface SocketGroup {
  partyId: string;
  conns: Set<Conn>;
  byUser: Map<string, Set<Conn>>;
  /** With a cluster: resolves once this process receives the party's channel. */
  following: Promise<void>;
}

const MAX_TITLE = 100;
export async function createPartyService(options: PartyServiceOptions): Promise<PartyService> {
  const { store, parti, config, cluster } = options;
  const log = options.logger.child({ module: 'party' });
  const now = options.now ?? Date.now;
  const quietEndMs = options.quietEndMs ?? 30 * 60_000;
  const graceMs = options.graceMs ?? 20_000;
  const joinHoldMs = options.joinHoldMs ?? 5 * 60_000;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const persistDelayMs = options.persistDelayMs ?? 250;
  const slowClientBytes = options.slowClientBytes ?? 256 * 1024;
  const drainCheckMs = options.drainCheckMs ?? 100;
  const ownerLeaseMs = options.ownerLeaseMs ?? 10_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  const limits: PartyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const rateLimiter = options.rateLimiter ?? cluster?.rateLimiter ?? createMemoryRateLimiter(now);
  const media: MediaResolver = createMediaResolver({ parti, mediaBaseUrl: config.PARTI_MEDIA_URL, now });
  const signer: TokenSigner = createTokenSigner(await loadPartySecret(store, config.PARTY_SECRET), now);
  const emitter = new EventEmitter();
  const self = cluster?.instanceId ?? 'local';

  const groups = new Map<string, SocketGroup>();
  const NO_USERS: ReadonlySet<string> = new Set();
  let closed = false;
  const staleConns = new Set<Conn>();
  let drainTimer: NodeJS.Timeout | undefined;

  const persistence = createPartyPersistence({
    store,
    cluster,
    log,
    persistDelayMs,
    roomOf: (id) => ownership.ownedNow(id)?.room,
    ownedIds: () => ownership.parties().map((party) => party.room.id),
    written(id) {
      const party = ownership.get(id);
      if (party) emitter.emit('state', party.room.detail(now()));
    },
  });
  const ownership = createPartyOwnership<PartyOps>({
    cluster,
    persistence,
    log,
    self,
    ownerLeaseMs,
    requestTimeoutMs,
    ops: () => owner.ops,
    adopt: (record, leaseUntil) => owner.adopt(record, leaseUntil),
  });
  const owner = createPartyOwner({
    ownership,
    persistence,
    media,
    log,
    now,
    self,
    publicUrl: config.PUBLIC_URL,
    graceMs,
    joinHoldMs,
    quietEndMs,
    ownerLeaseMs,
    localUsers: (partyId) => groups.get(partyId)?.byUser ?? NO_USERS,
    publish,
    ended: (info) => emitter.emit('ended', info),
  });

  const leaseTimer = cluster
    ? setInterval(
        () => {
          void leaseTick().catch((error: unknown) => log.warn({ err: error }, 'party lease renewal failed'));
        },
        Math.max(50, Math.floor(ownerLeaseMs / 3)),
      )
    : undefined;
  leaseTimer?.unref();

  let leaseTicks = 0;
  async function leaseTick(): Promise<void> {
    if (closed) return;
    await ownership.renewLeases();
    // Report this process's sockets to the owners (and find out if an owner has died), and drop
    // what other processes stopped reporting.
    for (const group of [...groups.values()]) {
      if (ownership.get(group.partyId)) continue;
      ownership.call(group.partyId, 'presence', self, [...group.byUser.keys()], []).catch((error: unknown) => {
        log.debug({ err: error, partyId: group.partyId }, 'presence report failed');
      });
    }
    owner.forgetUnreported();
    // Parties left without an owner and without anyone connected are picked up now and then.
    if (++leaseTicks % 10 === 0) await ownership.claimUnowned();
  }

  // Frames published while this process's Redis connection was down are lost: catch every socket up.
  cluster?.onResubscribed(() => {
    for (const conn of allConns()) if (conn.ready && !conn.stale) catchUp(conn);
  });

  // ---------------------------------------------------------------------------------------------
  // Sending

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

  function sendTo(conn: Conn, message: ServerMessage): void {
    sendFrame(conn, Buffer.from(JSON.stringify(message)));
  }

  /** A message for everyone in a party: to this process's sockets now, and to the other processes. */
  function publish(partyId: string, message: string): void {
    deliver(partyId, message);
    cluster?.publish(partyId, message);
  }

  /** Acts on a message of a party's channel for this process's sockets of that party. */
  function deliver(partyId: string, message: string): void {
    if (message === ENDED || message === MOVED) ownership.forgetOwner(partyId);
    const group = groups.get(partyId);
    if (!group) return;
    const tag = message[0];
    if (tag === FRAME) {
      // The tag is one ASCII byte: a view past it, not a copy of the string without it.
      const frame = Buffer.from(message).subarray(1);
      for (const conn of group.conns) if (conn.ready) sendFrame(conn, frame);
    } else if (tag === ENDED) {
      const conns = [...group.conns];
      group.conns.clear();
      group.byUser.clear();
      dropGroup(group);
      for (const conn of conns) conn.ws.close(1000, 'party ended');
    } else if (tag === KICK) {
      const userId = message.slice(1);
      // Their open tabs go too; closing them must not start a grace period for someone who left.
      const mine = group.byUser.get(userId) ?? new Set<Conn>();
      group.byUser.delete(userId);
      for (const conn of mine) {
        group.conns.delete(conn);
        conn.ws.close(1000, 'left the party');
      }
      if (group.conns.size === 0) dropGroup(group);
    } else if (tag === MOVED && !ownership.get(partyId)) {
      // The owner shut down: report at once, which makes this or another process take the party.
      ownership.call(partyId, 'presence', self, [...group.byUser.keys()], []).catch((error: unknown) => {
        log.debug({ err: error, partyId }, 'presence report after a move failed');
      });
    }
  }

  /** A drained socket gets the whole state, then the timeline as of now: whatever it missed is covered. */
  function checkDrained(): void {
    for (const conn of staleConns) {
      if (conn.ws.readyState !== conn.ws.OPEN || !conn.group.conns.has(conn)) {
        staleConns.delete(conn);
        continue;
      }
      if (conn.ws.bufferedAmount > slowClientBytes / 4) continue;
      staleConns.delete(conn);
      conn.stale = false;
      catchUp(conn);
    }
    if (staleConns.size === 0 && drainTimer) {
      clearInterval(drainTimer);
      drainTimer = undefined;
    }
  }

  /** The whole state, then the timeline as of now: whatever a socket missed is covered. */
  function catchUp(conn: Conn): void {
    ownership
      .call(conn.group.partyId, 'snapshot', conn.userId)
      .then((messages) => {
        for (const message of messages) sendTo(conn, message);
      })
      .catch((error: unknown) => log.debug({ err: error, partyId: conn.group.partyId }, 'could not catch a socket up'));
  }

  // ---------------------------------------------------------------------------------------------
  // Sockets (this process's, whoever owns their party)

  function violation(conn: Conn, code: string, message: string, requestType: string | null): void {
    const at = now();
    conn.violations.push(at);
    while ((conn.violations[0] ?? at) <= at - limits.wsViolationWindowMs) conn.violations.shift();
    if (conn.violations.length > limits.wsMaxViolations) {
      log.warn({ partyId: conn.group.partyId, userId: conn.userId, code }, 'party socket closed for policy violations');
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
    if (!conn.group.conns.has(conn)) return;
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
    const { partyId } = conn.group;
    if (message.party_id !== undefined && message.party_id !== partyId) {
      violation(conn, 'WRONG_PARTY', 'party_id is not the party of this socket', message.type);
      return;
    }
    if (message.type === 'ping') {
      sendTo(conn, { type: 'pong', client_time: message.client_time, server_time_ms: now() });
      return;
    }
    ownership
      .call(partyId, 'message', conn.userId, message)
      .then((replies) => {
        for (const reply of replies) sendTo(conn, reply);
      })
      .catch((error: unknown) => {
        if (error instanceof PartyError) {
          sendTo(conn, { type: 'error', code: error.code, message: error.message, request_type: message.type });
        } else log.error({ err: error, partyId }, 'party socket message failed');
      });
  }

  function groupOf(partyId: string): SocketGroup {
    let group = groups.get(partyId);
    if (!group) {
      const created: SocketGroup = { partyId, conns: new Set(), byUser: new Map(), following: Promise.resolve() };
      group = created;
      if (cluster) {
        created.following = cluster.follow(partyId, (message) => {
          // The owner delivered its own messages to its sockets already.
          if (!ownership.ownedNow(partyId)) deliver(partyId, message);
        });
      }
      groups.set(partyId, group);
    }
    return group;
  }

  function dropGroup(group: SocketGroup): void {
    if (groups.get(group.partyId) !== group) return;
    groups.delete(group.partyId);
    cluster?.unfollow(group.partyId).catch((error: unknown) => log.debug({ err: error }, 'unfollow failed'));
  }

  function detach(conn: Conn): void {
    const { group } = conn;
    if (!group.conns.delete(conn)) return;
    staleConns.delete(conn);
    const mine = group.byUser.get(conn.userId);
    mine?.delete(conn);
    if (mine?.size === 0) {
      group.byUser.delete(conn.userId);
      // Silent if they come back within the grace period (a reload, a network blip). Owned here, the
      // owner side notes it at once; else this process reports it to the owner.
      if (!ownership.runLocal(group.partyId, 'lastSocketClosed', conn.userId) && !closed) {
        ownership.call(group.partyId, 'presence', self, null, [conn.userId]).catch((error: unknown) => {
          log.debug({ err: error, partyId: group.partyId }, 'presence report failed');
        });
      }
    }
    if (group.conns.size === 0) dropGroup(group);
  }

  const allConns = (): Conn[] => [...groups.values()].flatMap((group) => [...group.conns]);

  const keepAlive = setInterval(() => {
    for (const conn of allConns()) {
      if (!conn.alive) {
        log.debug({ partyId: conn.group.partyId, userId: conn.userId }, 'party socket missed a ping; terminated');
        conn.ws.terminate();
        detach(conn);
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
    }
  }, pingIntervalMs);
  keepAlive.unref();

  // ---------------------------------------------------------------------------------------------

  async function limit(key: string, count: number, message: string): Promise<void> {
    const decision = await rateLimiter.hit(key, count, HOUR);
    if (!decision.ok) {
      throw new PartyError(429, 'RATE_LIMITED', message, Math.ceil(decision.retryAfterMs / 1000));
    }
  }

  async function idByCode(code: string): Promise<string> {
    const normalized = normalizeInviteCode(code);
    if (!normalized) throw notFound();
    const id = ownership.idOfCode(normalized) ?? (await persistence.partyOfCode(normalized));
    if (!id) throw notFound();
    return id;
  }

  async function scopedToken(
    partyId: string,
    user: PartyUser,
    role: Role,
    guest: boolean,
  ): Promise<{ token: string; expires_at: string }> {
    const { token, expiresAt } = await signer.sign(
      { id: user.id, name: cleanName(user.name) || 'Guest', avatar: user.avatar ?? null },
      { partyId, roleHint: role, guest, ...(guest ? { ttlSeconds: GUEST_TOKEN_TTL_SECONDS } : {}) },
    );
    return { token, expires_at: expiresAt.toISOString() };
  }

  const joiner = (user: PartyUser, guest: boolean): JoiningUser => ({
    id: user.id,
    name: user.name,
    avatar: user.avatar ?? null,
    guest,
  });

  await persistence.loadParties({
    claim: (id) => ownership.claim(id),
    adopt: (record) => owner.adopt(record, Number.POSITIVE_INFINITY),
  });
  const restored = ownership.parties().length;
  if (restored > 0) log.info({ parties: restored }, 'watch parties restored');

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
      const isTaken = (code: string): boolean => ownership.idOfCode(code) !== undefined;
      let inviteCode = generateInviteCode(isTaken);
      // Other processes' codes are in the store; a clash among 887 million is rare, but cheap to rule out.
      while (await persistence.partyOfCode(inviteCode)) inviteCode = generateInviteCode(isTaken);
      const at = now();
      const room = PartyRoom.create({
        id: randomUUID(),
        inviteCode,
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
      owner.host(room, await ownership.claimNew(room.id));
      await persistence.add(room.id, room.inviteCode);
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
          wait_for_everyone: detail.wait_for_everyone,
          created_at: detail.created_at,
        },
        detail,
        ...(await scopedToken(room.id, input.host, 'host', false)),
      };
    },

    async joinByCode(code, user, joinOptions = {}) {
      const id = await idByCode(code);
      const guest = joinOptions.guest === true;
      await limit(`join:user:${user.id}`, limits.joinsPerHour, 'at most 30 joins per hour');
      if (guest && joinOptions.ip)
        await limit(`join:ip:${joinOptions.ip}`, limits.joinsPerHour, 'at most 30 joins per hour');
      // The owner checks again: the party may have ended meanwhile.
      const joined = await ownership.call(id, 'join', joiner(user, guest), joinOptions.tokenPartyId ?? null);
      return {
        party: joined.detail,
        invite_url: joined.detail.invite_url,
        role: joined.role,
        ...(await scopedToken(id, user, joined.role, guest)),
      };
    },

    async joinAsGuest(code, displayName, ip) {
      const name = cleanName(displayName);
      if (!name) throw new PartyError(400, 'INVALID_INPUT', 'display_name must not be empty');
      const id = await idByCode(code);
      if ((await ownership.call(id, 'detail')).visibility !== 'public') {
        throw new PartyError(403, 'FORBIDDEN', 'this party is private: ask the host for an invite in Discord');
      }
      await limit(`guest:ip:${ip}`, limits.guestTokensPerHour, 'too many guest joins from this address; try later');
      const user = { id: `guest:${randomUUID()}`, name };
      const joined = await ownership.call(id, 'join', joiner(user, true));
      return {
        party: joined.detail,
        invite_url: joined.detail.invite_url,
        role: 'viewer',
        user: { id: user.id, display_name: name },
        ...(await scopedToken(id, user, 'viewer', true)),
      };
    },

    leave: async (partyId, userId) => void (await ownership.call(partyId, 'leave', userId)),

    async issueToken(user, partyId, tokenOptions = {}) {
      const role = partyId === undefined ? null : await ownership.call(partyId, 'roleOf', user.id);
      const { token, expiresAt } = await signer.sign(
        { id: user.id, name: cleanName(user.name) || user.id, avatar: user.avatar ?? null },
        { partyId: partyId?.toLowerCase() ?? null, roleHint: role, ttlSeconds: tokenOptions.ttlSeconds },
      );
      return { token, expires_at: expiresAt.toISOString() };
    },

    verifyToken: (token) => signer.verify(token),

    command: (partyId, actorUserId, command) => ownership.call(partyId, 'command', actorUserId, command),

    async addClip(partyId, actorUserId, source, title) {
      const role = await ownership.call(partyId, 'roleOf', actorUserId);
      if (role === null) throw new PartyError(403, 'NOT_PARTICIPANT', 'join the party first');
      if (role === 'viewer') throw new PartyError(403, 'NOT_ALLOWED', 'only the host and co-hosts add clips');
      const resolved = await media.resolveNew(source).catch((error: unknown) => {
        throw toPartyError(error);
      });
      const clip: Clip = {
        id: randomUUID(),
        title: title?.trim().slice(0, MAX_TITLE) || resolved.title,
        source: resolved.source,
        mediaType: resolved.mediaType,
        duration: null,
        thumbnailUrl: resolved.thumbnailUrl,
        addedBy: actorUserId,
        addedAt: now(),
      };
      return ownership.call(partyId, 'addClip', actorUserId, clip);
    },

    promoteCohost: (partyId, actorUserId, targetUserId) =>
      ownership.call(partyId, 'setRole', actorUserId, targetUserId, 'co-host'),
    demoteCohost: (partyId, actorUserId, targetUserId) =>
      ownership.call(partyId, 'setRole', actorUserId, targetUserId, 'viewer'),

    async endParty(partyId, actorUserId) {
      await ownership.call(partyId, 'end', actorUserId);
      await persistence.flush();
    },

    stats() {
      let participants = 0;
      const parties = ownership.parties();
      for (const party of parties) participants += party.room.presentMembers().length;
      return { parties: parties.length, participants, sockets: allConns().length };
    },

    async getParty(partyId) {
      try {
        return await ownership.call(partyId, 'detail');
      } catch (error) {
        if (error instanceof PartyError && error.code === 'PARTY_NOT_FOUND') return null;
        throw error;
      }
    },

    async findByCode(code) {
      const id = await idByCode(code).catch(() => null);
      return id ? service.getParty(id) : null;
    },

    assertCanView: (partyId, claims) =>
      ownership.call(partyId, 'view', claims && { user: claims.user, partyId: claims.partyId }),

    async playable(partyId, userId, clipId) {
      const { clipId: id, source } = await ownership.call(partyId, 'clipSource', userId, clipId);
      const playable = await media.playable(source).catch((error: unknown) => {
        throw toPartyError(error);
      });
      return {
        clip_id: id,
        url: playable.url,
        media_type: playable.mediaType,
        refresh_after: Number.isFinite(playable.expiresAt) ? new Date(playable.expiresAt).toISOString() : null,
      };
    },

    admitSocket: async (partyId, claims) =>
      void (await ownership.call(
        partyId,
        'admit',
        { id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar, guest: claims.guest },
        claims.partyId,
      )),

    attachSocket(partyId, claims, ws) {
      const id = partyId.toLowerCase();
      const userId = claims.user.id;
      if (closed || !isPartyId(id)) {
        ws.close(1001, 'party not available');
        return;
      }
      const group = groupOf(id);
      const conn: Conn = {
        ws,
        userId,
        group,
        ready: false,
        alive: true,
        stale: false,
        skipped: 0,
        tokens: limits.wsBurst,
        refilledAt: now(),
        violations: [],
        lastRateErrorAt: 0,
      };
      group.conns.add(conn);
      const mine = group.byUser.get(userId) ?? new Set<Conn>();
      mine.add(conn);
      group.byUser.set(userId, mine);
      ws.on('message', (data, isBinary) => onMessage(conn, data, isBinary));
      ws.on('pong', () => {
        conn.alive = true;
      });
      ws.on('close', () => detach(conn));
      ws.on('error', (error) => {
        log.debug({ partyId: id, userId, err: error }, 'party socket error');
        detach(conn);
      });
      const user = { id: userId, name: claims.user.name, avatar: claims.user.avatar, guest: claims.guest };
      const open = (state: ServerMessageOf<'state'>): void => {
        if (!group.conns.has(conn)) return;
        conn.ready = true;
        sendTo(conn, state);
      };
      const refuse = (error: unknown): void => {
        if (!(error instanceof PartyError)) log.error({ err: error, partyId: id }, 'party socket attach failed');
        const { code, reason } = socketRefusal(error);
        ws.close(code, reason);
      };
      // Owned here: the state goes out in this tick, before any later frame.
      try {
        const local = ownership.runLocal(id, 'attach', user, self);
        if (local) {
          open(local.value);
          return;
        }
      } catch (error) {
        refuse(error);
        return;
      }
      group.following
        .then(() => ownership.call(id, 'attach', user, self))
        .then(open)
        .catch(refuse);
    },

    socketStats(partyId) {
      const group = groups.get(partyId.toLowerCase());
      return [...(group?.conns ?? [])].map((conn) => ({
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

    flush: () => persistence.flush(),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      owner.close();
      clearInterval(leaseTimer);
      ownership.close();
      if (drainTimer) clearInterval(drainTimer);
      for (const group of [...groups.values()]) {
        for (const conn of group.conns) conn.ws.close(1001, 'server shutting down');
        group.conns.clear();
        group.byUser.clear();
      }
      groups.clear();
      await persistence.close();
      for (const id of await ownership.handOver()) cluster?.publish(id, MOVED);
    },
  };

  return service;
}
