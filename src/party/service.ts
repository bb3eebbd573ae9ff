// The watch-party service: the one front that the HTTP/WS routes (server.ts) and the Discord
// `/party` commands call, so a panel button and a player's socket obey the same rules. It checks
// what callers give it (names, sizes, rate limits), signs tokens, and puts together the pieces:
//   owner.ts        the owner side: a party's room and every change to it (the op table), who is
//                   present, the room's deadlines, and ending
//   ownership.ts    which parties this process owns, and running an op where its party is owned
//   sockets.ts      this process's sockets of any party: messages in, frames out, slow clients
//   persistence.ts  the `parties` namespace of the store
//   errors.ts       PartyError, what the REST API answers
// Alone, this process owns every party. With a PartyCluster (several processes on one Redis,
// cluster.ts) a party is owned by exactly one process: calls for a party owned elsewhere go there
// as requests, frames come back on the party's channel, and when an owner dies the next call takes
// the party over from the store. src/party/README.md follows a host's play through the pieces.
import { createHmac, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import { addressKey } from '../http/clientAddress.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartiClient } from '../parti/client.js';
import type { Store } from '../store/index.js';
import { cleanText } from '../text.js';
import type { PartyCluster } from './cluster.js';
import { generateInviteCode, normalizeInviteCode } from './codes.js';
import { notFound, PartyError, toPartyError } from './errors.js';
import { createMediaResolver, requireSource, parseSource, type MediaResolver, type Playable } from './media.js';
import type {
  ChatMessage,
  ChatSetting,
  ClipInfo,
  ParticipantView,
  PartyCommand,
  PartyDetail,
  PlaybackFields,
  Role,
  Visibility,
} from './protocol.js';
import {
  ACKNOWLEDGED_OPS,
  cleanName,
  createPartyOwner,
  MOVED,
  type ChatChange,
  type DiscordAuthor,
  type PartyOps,
} from './owner.js';
import { createPartyOwnership } from './ownership.js';
import { createPartyPersistence, type CodeEntry } from './persistence.js';
import { createMemoryRateLimiter, type RateLimiter } from './rateLimit.js';
import { DEFAULT_MAX_PARTICIPANTS, PartyRoom, type Clip, type Entrant, type JoiningUser } from './room.js';
import { createPartySockets, type SocketLimits } from './sockets.js';
import { createStallClock } from './stallClock.js';
import { partyStrings } from './strings.js';
import {
  createTokenSigner,
  GUEST_TOKEN_TTL_SECONDS,
  loadPartySecret,
  type TokenClaims,
  type TokenSigner,
} from './tokens.js';

// The front's callers (and tests) may take its errors from here as well.
export { PartyError, socketRefusal } from './errors.js';
export type { PartyErrorCode } from './protocol.js';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
/** Wrong invite codes count in this window. */
export const CODE_MISS_WINDOW_MS = 10 * MINUTE;

export interface PartyLimits extends SocketLimits {
  /** Parties one person may create per hour, and one address through the API. */
  createsPerHour: number;
  createsPerAddressPerHour: number;
  /** Joins per person per hour, and guest joins per address per hour. */
  joinsPerHour: number;
  /** Wrong invite codes per address (per person from Discord) per CODE_MISS_WINDOW_MS. */
  codeMisses: number;
  /** Refused socket upgrades per address per minute. */
  badUpgradesPerMinute: number;
  /** Playback commands per person per second (from the player, the API and Discord together); burst 5×. */
  commandsPerSecond: number;
}

export const DEFAULT_LIMITS: PartyLimits = {
  createsPerHour: 10,
  createsPerAddressPerHour: 10,
  joinsPerHour: 30,
  codeMisses: 20,
  badUpgradesPerMinute: 30,
  commandsPerSecond: 2,
  socketsPerPerson: 8,
  wsMessagesPerSecond: 20,
  wsBurst: 40,
  wsMaxViolations: 10,
  wsViolationWindowMs: 10_000,
};

/** The limits an operator set in the environment (README: "Watch parties on the internet"). */
export function partyLimitsFrom(config: Config): Partial<PartyLimits> {
  return {
    createsPerHour: config.PARTY_CREATES_PER_HOUR,
    createsPerAddressPerHour: config.PARTY_CREATES_PER_IP_PER_HOUR,
    joinsPerHour: config.PARTY_JOINS_PER_HOUR,
    codeMisses: config.PARTY_CODE_MISSES_PER_IP,
    badUpgradesPerMinute: config.PARTY_BAD_UPGRADES_PER_MINUTE,
    commandsPerSecond: config.PARTY_COMMANDS_PER_SECOND,
    socketsPerPerson: config.PARTY_SOCKETS_PER_PERSON,
  };
}

export interface PartyUser {
  id: string;
  name: string;
  avatar?: string | null | undefined;
}

export interface PartyServiceOptions {
  store: Pick<Store, 'parties' | 'meta' | 'lease'>;
  parti: PartiClient;
  config: Pick<Config, 'PUBLIC_URL' | 'PARTY_MAX_PARTICIPANTS' | 'MEDIA_ALLOW_PRIVATE' | 'PARTI_PROXY_URL'> & {
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
  /** How long a resolved media URL is handed out again before it is resolved anew. Default 20 s. */
  playableCacheMs?: number;
  /** How often the owner reads the playlist of each live clip now playing. Default 10 s. */
  liveRefreshMs?: number;
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
  /** Who may talk in the chat; everyone by default. */
  chat?: ChatSetting | undefined;
  /** The caller's address, for per-address limits (REST); absent for Discord. */
  address?: string | undefined;
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
  /** After every coalesced change of a party (at most one per persist delay): refresh its panel, if any. */
  state: [partyId: string];
  ended: [info: { party: PartyDetail; reason: 'host' | 'idle' }];
  /** On the party's owner: a message written or deleted on the page (the thread bridge). */
  chat: [change: ChatChange];
}

export interface PartyService {
  createParty(input: CreatePartyInput): Promise<CreatedParty>;
  joinByCode(code: string, user: PartyUser, options?: JoinOptions): Promise<JoinResult>;
  /** A guest token scoped to a public party, and the guest joined (rate-limited per address). */
  joinAsGuest(code: string, displayName: string, address: string): Promise<GuestJoinResult>;
  /** Leaving on purpose: in a private party, the tokens the user holds stop letting them in. */
  leave(partyId: string, userId: string): Promise<void>;
  /** A host or co-host takes someone out of the party; they cannot come back with that account. */
  removeMember(partyId: string, actorUserId: string, targetUserId: string): Promise<void>;
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
  /** The kept chat messages (oldest first) and who may talk, for a member. */
  chatHistory(partyId: string, userId: string): Promise<{ messages: ChatMessage[]; chat: ChatSetting }>;
  /** The same as the socket's `chat`, answered once the message is on disk. */
  postChat(partyId: string, userId: string, text: string): Promise<ChatMessage>;
  deleteChat(partyId: string, userId: string, messageId: string): Promise<void>;
  /** A host or co-host sets who may talk. */
  setChat(partyId: string, actorUserId: string, chat: ChatSetting): Promise<PartyDetail>;
  /** The Discord thread bridge: a message written in the thread, for the pages (null: chat is off). */
  discordChat(
    partyId: string,
    author: DiscordAuthor,
    text: string,
    discordMessageId: string,
  ): Promise<ChatMessage | null>;
  /** The Discord thread bridge: a message deleted in the thread. */
  discordDeleted(partyId: string, discordMessageId: string): Promise<void>;
  /** The Discord thread bridge posted a page's message; false when it was deleted meanwhile. */
  linkDiscord(partyId: string, messageId: string, discordMessageId: string): Promise<boolean>;
  getParty(partyId: string): Promise<PartyDetail | null>;
  /**
   * Any party by its code, for Discord (which may see them all). With an asker, a wrong code counts
   * against their budget, and past it every lookup of theirs is refused (429).
   */
  findByCode(code: string, asker?: Asker): Promise<PartyDetail | null>;
  /**
   * A party by its code as a token holder (or nobody) may see it: a private party they may not see
   * is answered exactly as a missing one (404), and both count against the address's wrong codes.
   */
  viewByCode(code: string, claims: TokenClaims | null, address: string): Promise<PartyDetail>;
  /** May this token's holder see a party's details (private parties: who it admits; else 404)? */
  assertCanView(partyId: string, claims: TokenClaims | null): Promise<PartyDetail>;
  playable(partyId: string, userId: string, clipId?: string): Promise<PlayableAnswer>;
  /**
   * The origins a party's player fetches media from (for its page's Content-Security-Policy): each
   * direct URL's, and where each Parti clip's signed URL points now (a live stream's CDN is its own).
   */
  mediaOrigins(detail: PartyDetail): Promise<string[]>;
  /**
   * The media origins of the party a page is for, when the page's token (a cookie the page set)
   * may see it; null otherwise, so a page's headers say nothing to a stranger.
   */
  pageMediaOrigins(code: string, token: string | undefined): Promise<string[] | null>;
  /** Throws 429 while an address is past its budget of refused socket upgrades. */
  guardUpgrade(address: string): Promise<void>;
  /** Counts a refused socket upgrade (no or bad token, not admitted) against its address. */
  refusedUpgrade(address: string): Promise<void>;
  /** Checks a socket may open and makes its user present; call right before the upgrade. Throws PartyError. */
  admitSocket(partyId: string, claims: TokenClaims, address: string): Promise<void>;
  attachSocket(partyId: string, claims: TokenClaims, ws: WebSocket, address: string): void;
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
  /** The caller's address (REST); absent for Discord, whose members count by their id. */
  address?: string | undefined;
  guest?: boolean | undefined;
  /** The party the caller's token is limited to, if any. */
  tokenPartyId?: string | null | undefined;
}

/** Who looks a code up: an address (REST) or a Discord member; their wrong codes count against them. */
export interface Asker {
  address?: string | undefined;
  userId?: string | undefined;
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
  const commandLimits = {
    perSecond: limits.commandsPerSecond,
    burst: Math.max(1, Math.round(limits.commandsPerSecond * 5)),
  };
  const rateLimiter = options.rateLimiter ?? cluster?.rateLimiter ?? createMemoryRateLimiter(now);
  const media: MediaResolver = createMediaResolver({
    parti,
    now,
    outbound: { allowPrivate: config.MEDIA_ALLOW_PRIVATE, proxyUrl: config.PARTI_PROXY_URL },
    ...(options.playableCacheMs !== undefined && { playableCacheMs: options.playableCacheMs }),
  });
  const secret = await loadPartySecret(store, config.PARTY_SECRET);
  const signer: TokenSigner = createTokenSigner(secret, now);
  /** A guest's address as a party keeps it: a keyed hash, so the store never holds an address. */
  const hashedAddress = (address: string): string =>
    createHmac('sha256', secret)
      .update(`address:${addressKey(address)}`)
      .digest('base64url')
      .slice(0, 22);
  const emitter = new EventEmitter();
  const self = cluster?.instanceId ?? 'local';

  let closed = false;
  const stalls = createStallClock();

  // The pieces call one another in a circle (a socket's message runs an op on the owner side, whose
  // frames go back out through the sockets), so each is handed what it needs of the others as
  // functions; the ones that name a piece made further down only run once all four exist.
  const persistence = createPartyPersistence({
    store,
    cluster,
    log,
    persistDelayMs,
    roomOf: (id) => ownership.ownedNow(id),
    ownedIds: () => ownership.parties().map((party) => party.room.id),
    written(id) {
      const party = ownership.get(id);
      // Only the id: most parties have no Discord panel, and a whole detail for each of them, four
      // times a second, was most of what this process built and threw away under load.
      if (party) emitter.emit('state', id);
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
    acknowledged: ACKNOWLEDGED_OPS,
    adopt: (record, leaseUntil) => owner.adopt(record, leaseUntil),
  });
  const sockets = createPartySockets({
    cluster,
    ownership,
    log,
    now,
    self,
    limits,
    slowClientBytes,
    drainCheckMs,
    pingIntervalMs,
    metrics: options.metrics,
    stalls,
  });
  const owner = createPartyOwner({
    ownership,
    persistence,
    media,
    log,
    now,
    self,
    publicUrl: config.PUBLIC_URL,
    commandLimits,
    graceMs,
    joinHoldMs,
    quietEndMs,
    ownerLeaseMs,
    liveRefreshMs: options.liveRefreshMs ?? 10_000,
    stalls,
    localUsers: (partyId) => sockets.localUsers(partyId),
    publish: (partyId, message) => sockets.publish(partyId, message),
    ended: (info) => emitter.emit('ended', info),
    chatChanged: (change) => emitter.emit('chat', change),
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

  // With a cluster, every third of a lease: renew the leases, tell the owners elsewhere who has
  // sockets here (which also finds an owner that died), let go of users no process reports any more,
  // and now and then take the parties nobody owns, so an idle party still ends.
  let leaseTicks = 0;
  async function leaseTick(): Promise<void> {
    if (closed) return;
    await ownership.renewLeases();
    sockets.reportPresence();
    owner.forgetUnreported();
    if (++leaseTicks % 10 === 0) await ownership.claimUnowned();
  }

  // ---------------------------------------------------------------------------------------------

  async function limit(key: string, count: number, windowMs: number, message: string): Promise<void> {
    const decision = await rateLimiter.hit(key, count, windowMs);
    if (!decision.ok) throw rateLimited(decision.retryAfterMs, message);
  }

  function rateLimited(retryAfterMs: number, message: string): PartyError {
    return new PartyError(429, 'RATE_LIMITED', message, Math.ceil(retryAfterMs / 1000));
  }

  /** What an invite code names: this process's own parties, or the store's list with a cluster. */
  async function codeEntry(code: string): Promise<CodeEntry | undefined> {
    // Alone, every live party is owned here, so a miss is a miss; with a cluster, always the store,
    // so a code costs the same work whoever owns its party.
    const entry = cluster ? await persistence.codeEntry(code) : ownership.entryOfCode(code);
    if (!entry || entry.visibility !== null) return entry;
    // Written before codes kept their party's visibility.
    const detail = await service.getParty(entry.id);
    return detail ? { id: entry.id, visibility: detail.visibility } : undefined;
  }

  /**
   * Looks a code up for someone who may be a stranger. `attempt` says what the asker gets of the
   * party the code names (null: nothing, as if it did not exist). A code that names nothing and a
   * party the asker may not have are the same answer, 404, after the same work, and both count as
   * a wrong code; past the budget, every lookup of the asker's is 429, whatever the code.
   */
  async function byCode<T>(code: string, asker: Asker, attempt: (entry: CodeEntry) => Promise<T | null>): Promise<T> {
    const key = `code-miss:${asker.address !== undefined ? addressKey(asker.address) : `user:${asker.userId ?? ''}`}`;
    const open = await rateLimiter.peek(key, limits.codeMisses, CODE_MISS_WINDOW_MS);
    if (!open.ok) throw rateLimited(open.retryAfterMs, 'too many wrong invite codes; try again later');
    const normalized = normalizeInviteCode(code);
    const entry = normalized === null ? undefined : await codeEntry(normalized);
    const found = entry ? await attempt(entry) : null;
    if (found !== null) return found;
    await limit(key, limits.codeMisses, CODE_MISS_WINDOW_MS, 'too many wrong invite codes; try again later');
    throw notFound();
  }

  function checkSource(input: string): void {
    try {
      requireSource(input);
    } catch (error) {
      throw toPartyError(error);
    }
  }

  /** A refusal that means "not for you" is, to a stranger, the same as nothing there. */
  async function orNothing<T>(run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof PartyError && error.code === 'PARTY_NOT_FOUND') return null;
      throw error;
    }
  }

  const entrant = (claims: TokenClaims): Entrant => ({
    userId: claims.user.id,
    tokenPartyId: claims.partyId,
    issuedAt: claims.issuedAt.getTime(),
  });

  /** A token scoped to one party is good for that party only. */
  const inScope = (claims: TokenClaims | null, partyId: string): boolean =>
    claims === null || claims.partyId === null || claims.partyId === partyId;

  async function scopedToken(
    partyId: string,
    user: PartyUser,
    role: Role,
    guest: boolean,
  ): Promise<{ token: string; expires_at: string }> {
    const { token, expiresAt } = await signer.sign(
      { id: user.id, name: cleanName(user.name) || partyStrings.guestName, avatar: user.avatar ?? null },
      { partyId, roleHint: role, guest, ...(guest ? { ttlSeconds: GUEST_TOKEN_TTL_SECONDS } : {}) },
    );
    return { token, expires_at: expiresAt.toISOString() };
  }

  const joiner = (user: PartyUser, guest: boolean, address?: string): JoiningUser => ({
    id: user.id,
    name: user.name,
    avatar: user.avatar ?? null,
    guest,
    // A guest's address goes with them, so removing them keeps it out too.
    ...(guest && address !== undefined && { addressKey: hashedAddress(address) }),
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
      const title = cleanText(input.title ?? '', MAX_TITLE) || partyStrings.defaultTitle(hostName);
      // A source that cannot be one is refused before it costs a slot.
      if (input.source !== undefined) checkSource(input.source);
      await limit(`create:user:${input.host.id}`, limits.createsPerHour, HOUR, 'too many parties this hour');
      if (input.address !== undefined) {
        await limit(
          `create:address:${addressKey(input.address)}`,
          limits.createsPerAddressPerHour,
          HOUR,
          'too many parties from this address this hour',
        );
      }
      const resolved =
        input.source === undefined
          ? null
          : await media.resolveNew(input.source).catch((error: unknown) => {
              throw toPartyError(error);
            });
      const isTaken = (code: string): boolean => ownership.entryOfCode(code) !== undefined;
      let inviteCode = generateInviteCode(isTaken);
      // Other processes' codes are in the store; a clash among 887 million is rare, but cheap to rule out.
      while (await persistence.codeEntry(inviteCode)) inviteCode = generateInviteCode(isTaken);
      const at = now();
      const room = PartyRoom.create({
        id: randomUUID(),
        inviteCode,
        title,
        visibility: input.visibility ?? 'private',
        maxParticipants: max,
        waitForEveryone: input.waitForEveryone === true,
        chat: input.chat ?? 'everyone',
        host: { id: input.host.id, name: hostName, avatar: input.host.avatar ?? null, guest: false },
        hostParticipantId: randomUUID(),
        publicUrl: config.PUBLIC_URL,
        now: at,
        commandLimits,
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
            ...(resolved.live && { live: resolved.live }),
          },
          at,
          input.host.id,
        );
      }
      owner.host(room, await ownership.claimNew(room.id));
      await persistence.add(room.id, room.inviteCode, room.visibility);
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
      const guest = joinOptions.guest === true;
      const tokenPartyId = joinOptions.tokenPartyId ?? null;
      const asker = joinOptions.address !== undefined ? { address: joinOptions.address } : { userId: user.id };
      // Knowing the code is the invitation, for members; a guest token is good for its public party only.
      const id = await byCode(code, asker, (entry) =>
        Promise.resolve(
          (tokenPartyId === null || tokenPartyId === entry.id) && (!guest || entry.visibility === 'public')
            ? entry.id
            : null,
        ),
      );
      await limit(`join:user:${user.id}`, limits.joinsPerHour, HOUR, 'too many joins this hour');
      if (guest && joinOptions.address !== undefined) {
        await limit(
          `join:address:${addressKey(joinOptions.address)}`,
          limits.joinsPerHour,
          HOUR,
          'too many joins this hour',
        );
      }
      // The owner checks again: the party may have ended meanwhile.
      const joined = await ownership.call(id, 'join', joiner(user, guest, joinOptions.address), tokenPartyId);
      return {
        party: joined.detail,
        invite_url: joined.detail.invite_url,
        role: joined.role,
        ...(await scopedToken(id, user, joined.role, guest)),
      };
    },

    async joinAsGuest(code, displayName, address) {
      const name = cleanName(displayName);
      if (!name) throw new PartyError(400, 'INVALID_INPUT', 'display_name must not be empty');
      // A private party is no party at all to a guest.
      const id = await byCode(code, { address }, (entry) =>
        Promise.resolve(entry.visibility === 'public' ? entry.id : null),
      );
      await limit(
        `guest:address:${addressKey(address)}`,
        limits.joinsPerHour,
        HOUR,
        'too many guest joins from this address; try later',
      );
      const user = { id: `guest:${randomUUID()}`, name };
      const joined = await ownership.call(id, 'join', joiner(user, true, address));
      return {
        party: joined.detail,
        invite_url: joined.detail.invite_url,
        role: 'viewer',
        user: { id: user.id, display_name: name },
        ...(await scopedToken(id, user, 'viewer', true)),
      };
    },

    leave: async (partyId, userId) => void (await ownership.call(partyId, 'leave', userId)),

    removeMember: async (partyId, actorUserId, targetUserId) =>
      void (await ownership.call(partyId, 'remove', actorUserId, targetUserId)),

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
    chatHistory: (partyId, userId) => ownership.call(partyId, 'chatHistory', userId),
    postChat: (partyId, userId, text) => ownership.call(partyId, 'postChat', userId, text),
    deleteChat: async (partyId, userId, messageId) =>
      void (await ownership.call(partyId, 'deleteChat', userId, messageId)),
    setChat: (partyId, actorUserId, chat) => ownership.call(partyId, 'setChat', actorUserId, chat),
    discordChat: (partyId, author, text, discordMessageId) =>
      ownership.call(partyId, 'discordChat', author, text, discordMessageId),
    discordDeleted: async (partyId, discordMessageId) =>
      void (await ownership.call(partyId, 'discordDeleted', discordMessageId)),
    linkDiscord: (partyId, messageId, discordMessageId) =>
      ownership.call(partyId, 'linkDiscord', messageId, discordMessageId),

    async addClip(partyId, actorUserId, source, title) {
      // Refusals first, before anything is fetched: a bad source, a viewer, a spent command budget.
      checkSource(source);
      await ownership.call(partyId, 'mayAddClip', actorUserId);
      const resolved = await media.resolveNew(source).catch((error: unknown) => {
        throw toPartyError(error);
      });
      const clip: Clip = {
        id: randomUUID(),
        title: cleanText(title ?? '', MAX_TITLE) || resolved.title,
        source: resolved.source,
        mediaType: resolved.mediaType,
        duration: null,
        thumbnailUrl: resolved.thumbnailUrl,
        addedBy: actorUserId,
        addedAt: now(),
        ...(resolved.live && { live: resolved.live }),
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
      return { parties: parties.length, participants, sockets: sockets.count() };
    },

    async getParty(partyId) {
      try {
        return await ownership.call(partyId, 'detail');
      } catch (error) {
        if (error instanceof PartyError && error.code === 'PARTY_NOT_FOUND') return null;
        throw error;
      }
    },

    async findByCode(code, asker) {
      if (!asker) {
        const normalized = normalizeInviteCode(code);
        const entry = normalized === null ? undefined : await codeEntry(normalized);
        return entry ? service.getParty(entry.id) : null;
      }
      return byCode(code, asker, (entry) => service.getParty(entry.id)).catch((error: unknown) => {
        if (error instanceof PartyError && error.code === 'PARTY_NOT_FOUND') return null;
        throw error;
      });
    },

    viewByCode: (code, claims, address) =>
      byCode(code, { address }, (entry) =>
        // A private party's detail is asked of its owner only for a token holder: to anyone else it is
        // nothing, after the same work as a code that names nothing.
        inScope(claims, entry.id) && (entry.visibility === 'public' || claims !== null)
          ? orNothing(() => ownership.call(entry.id, 'view', claims && entrant(claims)))
          : Promise.resolve(null),
      ),

    async assertCanView(partyId, claims) {
      if (!inScope(claims, partyId.toLowerCase())) throw notFound();
      return ownership.call(partyId, 'view', claims && entrant(claims));
    },

    async pageMediaOrigins(code, token) {
      const claims = token ? await signer.verify(token).catch(() => null) : null;
      const normalized = normalizeInviteCode(code);
      if (!claims || normalized === null) return null;
      const entry = await codeEntry(normalized);
      if (!entry || !inScope(claims, entry.id)) return null;
      // Any refusal (not a member any more, removed) is a page like anyone's.
      const detail = await ownership.call(entry.id, 'view', entrant(claims)).catch((error: unknown) => {
        if (error instanceof PartyError) return null;
        throw error;
      });
      return detail ? service.mediaOrigins(detail) : null;
    },

    async guardUpgrade(address) {
      const decision = await rateLimiter.peek(
        `upgrade-refused:${addressKey(address)}`,
        limits.badUpgradesPerMinute,
        MINUTE,
      );
      if (!decision.ok) throw rateLimited(decision.retryAfterMs, 'too many refused connections from this address');
    },

    refusedUpgrade: async (address) =>
      void (await rateLimiter.hit(`upgrade-refused:${addressKey(address)}`, limits.badUpgradesPerMinute, MINUTE)),

    async mediaOrigins(detail) {
      const urls = await Promise.all(
        detail.queue.map(async (clip) => {
          if (clip.kind === 'url') return clip.source;
          const source = parseSource(clip.source);
          if (!source || source.kind === 'parti-creator') return null;
          return (await media.playable(source).catch(() => null))?.url ?? null;
        }),
      );
      const origins = new Set<string>();
      for (const url of urls) {
        if (url && URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) origins.add(new URL(url).origin);
      }
      return [...origins];
    },

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

    admitSocket: async (partyId, claims, address) =>
      void (await ownership.call(
        partyId,
        'admit',
        joiner({ id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar }, claims.guest, address),
        entrant(claims),
      )),

    attachSocket: (partyId, claims, ws, address) =>
      sockets.attachSocket(
        partyId,
        joiner({ id: claims.user.id, name: claims.user.name, avatar: claims.user.avatar }, claims.guest, address),
        ws,
      ),
    socketStats: (partyId) => sockets.socketStats(partyId),

    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return () => emitter.off(event, listener as (...args: unknown[]) => void);
    },

    flush: () => persistence.flush(),

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(leaseTimer);
      stalls.stop();
      owner.close();
      ownership.close();
      sockets.close();
      await persistence.close();
      for (const id of await ownership.handOver()) cluster?.publish(id, MOVED);
    },
  };

  return service;
}
