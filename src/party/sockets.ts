// This process's WebSockets of watch parties, whoever owns each party. A socket's messages are
// checked here (size, JSON, schema, rate) and sent to the party's owner as ops (`call`); what the
// owner publishes for a party comes back through `publish` (the owner is here) or the party's
// channel (another process is), and each frame is serialized once for every socket. A socket whose
// send buffer is past a threshold gets nothing until it drains, then the latest state. Also here:
// pings that find dead sockets, and telling owners elsewhere who has sockets here.
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartyCluster } from './cluster.js';
import { PartyError, socketRefusal } from './errors.js';
import { ENDED, FRAME, KICK, MOVED, REMOVE, REMOVED_CLOSE_CODE, type PartyOps, type UserSet } from './owner.js';
import { isPartyId, type PartyOwnership } from './ownership.js';
import { CLIENT_MESSAGE_TYPES, clientMessageSchema, type ServerMessage } from './protocol.js';
import type { JoiningUser } from './room.js';
import type { StallClock } from './stallClock.js';

/** The keep-alive pings a slice of the sockets this often. */
const KEEPALIVE_TICK_MS = 100;
/**
 * A well-formed message of a type this server does not read (another client's `chat` or `typing`
 * of a protocol version it lacks) is answered UNSUPPORTED_TYPE, never counted toward the close:
 * each gets its answer, up to this many at once, then two a second; past that, no answer.
 */
const UNSUPPORTED_BURST = 20;
const UNSUPPORTED_REFILL_MS = 500;

export interface SocketLimits {
  /** Open sockets one person may have in one party on this process; the next is closed with 1008. */
  socketsPerPerson: number;
  /** Sustained client messages per second per socket (token bucket refill). */
  wsMessagesPerSecond: number;
  /** Client messages a socket may send at once before the bucket is empty. */
  wsBurst: number;
  /** Invalid or over-limit messages within wsViolationWindowMs before the socket is closed with 1008. */
  wsMaxViolations: number;
  wsViolationWindowMs: number;
}

interface Conn {
  ws: WebSocket;
  userId: string;
  group: SocketGroup;
  /** The keep-alive slot it is pinged in. */
  slot: Set<Conn>;
  /** False until the first `state` went out; frames before it are already in that state. */
  ready: boolean;
  alive: boolean;
  stale: boolean;
  skipped: number;
  tokens: number;
  refilledAt: number;
  violations: number[];
  lastRateErrorAt: number;
  /** Answers left for messages of unknown types (UNSUPPORTED_BURST, refilled one a second). */
  unsupported: { tokens: number; at: number };
}

/** This process's sockets of one party (wherever the party is owned). */
interface SocketGroup {
  partyId: string;
  conns: Set<Conn>;
  byUser: Map<string, Set<Conn>>;
  /** With a cluster: resolves once this process receives the party's channel. */
  following: Promise<void>;
}

export interface PartySocketsOptions {
  cluster: PartyCluster | undefined;
  /** What the sockets need of ownership.ts: ops run where their party is owned, and whether that is here. */
  ownership: Pick<PartyOwnership<PartyOps>, 'call' | 'runLocal' | 'get' | 'ownedNow' | 'forgetOwner'>;
  log: Logger;
  now: () => number;
  /** This process in the cluster ('local' without one). */
  self: string;
  limits: SocketLimits;
  /** A socket with more than this many bytes unsent gets no events until it drains. */
  slowClientBytes: number;
  /** How often stalled sockets are checked for having drained. */
  drainCheckMs: number;
  /** Protocol ping period; a socket that has not answered the previous ping is terminated. */
  pingIntervalMs: number;
  metrics: Pick<MetricsHooks, 'partyMessageIn' | 'partyMessagesOut'> | undefined;
  /** How long the loop was just held up: a backlog read after it is forgiven (stallClock.ts). */
  stalls: Pick<StallClock, 'stallMs'>;
}

export interface PartySockets {
  attachSocket(partyId: string, user: JoiningUser, ws: WebSocket): void;
  /** A message for everyone in a party: to this process's sockets now, and to the other processes. */
  publish(partyId: string, message: string): void;
  /** The users with sockets on this process in a party. */
  localUsers(partyId: string): UserSet;
  /** Tells the owner of each party owned elsewhere who has sockets here (and so finds an owner that died). */
  reportPresence(): void;
  socketStats(partyId: string): Array<{ userId: string; bufferedAmount: number; stale: boolean; skipped: number }>;
  count(): number;
  /** Closes every socket (1001) and stops the timers. */
  close(): void;
}

export function createPartySockets(options: PartySocketsOptions): PartySockets {
  const { cluster, ownership, log, now, self, limits, slowClientBytes, drainCheckMs, pingIntervalMs, metrics } =
    options;
  const groups = new Map<string, SocketGroup>();
  const stalls = options.stalls;
  const NO_USERS: ReadonlySet<string> = new Set();
  const staleConns = new Set<Conn>();
  let drainTimer: NodeJS.Timeout | undefined;
  let closed = false;

  // Frames published while this process's Redis connection was down are lost: catch every socket up.
  cluster?.onResubscribed(() => {
    for (const conn of allConns()) if (conn.ready && !conn.stale) catchUp(conn);
  });

  const TEXT = { binary: false } as const;

  /**
   * The one place a frame reaches a socket: never onto a socket that is past the threshold. True when
   * it went out (the caller counts them: one metric update per broadcast, not per socket).
   */
  function sendFrame(conn: Conn, frame: Buffer): boolean {
    const { ws } = conn;
    if (ws.readyState !== ws.OPEN) return false;
    if (conn.stale) {
      conn.skipped++;
      return false;
    }
    if (ws.bufferedAmount > slowClientBytes) {
      conn.stale = true;
      conn.skipped++;
      staleConns.add(conn);
      drainTimer ??= setInterval(checkDrained, drainCheckMs);
      return false;
    }
    ws.send(frame, TEXT);
    return true;
  }

  function sendTo(conn: Conn, message: ServerMessage): void {
    if (sendFrame(conn, Buffer.from(JSON.stringify(message)))) metrics?.partyMessagesOut(1);
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
      let sent = 0;
      for (const conn of group.conns) if (conn.ready && sendFrame(conn, frame)) sent++;
      if (sent > 0) metrics?.partyMessagesOut(sent);
    } else if (tag === ENDED) {
      const conns = [...group.conns];
      group.conns.clear();
      group.byUser.clear();
      dropGroup(group);
      for (const conn of conns) {
        conn.slot.delete(conn);
        conn.ws.close(1000, 'party ended');
      }
    } else if (tag === KICK || tag === REMOVE) {
      const userId = message.slice(1);
      // Their open tabs go too; closing them must not start a grace period for someone who left.
      const mine = group.byUser.get(userId) ?? new Set<Conn>();
      group.byUser.delete(userId);
      for (const conn of mine) {
        group.conns.delete(conn);
        conn.slot.delete(conn);
        if (tag === KICK) conn.ws.close(1000, 'left the party');
        else conn.ws.close(REMOVED_CLOSE_CODE, 'removed from the party');
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

  function unsupported(conn: Conn, requestType: string): void {
    const at = now();
    const bucket = conn.unsupported;
    bucket.tokens = Math.min(UNSUPPORTED_BURST, bucket.tokens + (at - bucket.at) / UNSUPPORTED_REFILL_MS);
    bucket.at = at;
    if (bucket.tokens < 1) return;
    bucket.tokens -= 1;
    sendTo(conn, {
      type: 'error',
      code: 'UNSUPPORTED_TYPE',
      message: 'this server does not read messages of that type',
      request_type: requestType,
    });
  }

  function takeToken(conn: Conn): boolean {
    const at = now();
    // A backlog read after the server stalled may run over the burst by what the stall refilled.
    const burst = limits.wsBurst + (stalls.stallMs() / 1000) * limits.wsMessagesPerSecond;
    conn.tokens = Math.min(burst, conn.tokens + ((at - conn.refilledAt) / 1000) * limits.wsMessagesPerSecond);
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
    if (!parsed.success && requestType !== null && !CLIENT_MESSAGE_TYPES.has((json as { type: string }).type)) {
      unsupported(conn, requestType);
      return;
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      violation(conn, 'INVALID_MESSAGE', `${where}${issue?.message ?? 'invalid message'}`, requestType);
      return;
    }
    const message = parsed.data;
    metrics?.partyMessageIn(message.type);
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
    conn.slot.delete(conn);
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

  // Keep-alive: every socket is pinged once per pingIntervalMs, and one that has not answered the last
  // ping by then is terminated. The sockets are dealt into slots, one slot pinged per tick, so the
  // pings (a write each) and the pongs coming back are spread over the interval: 10,000 pinged in one
  // turn of the loop held it for a good part of a second, and every party's frames waited.
  const slotCount = Math.max(1, Math.round(pingIntervalMs / KEEPALIVE_TICK_MS));
  const slots: Array<Set<Conn>> = Array.from({ length: slotCount }, () => new Set<Conn>());
  let nextSlot = 0;
  let slotTick = 0;
  const keepAlive = setInterval(
    () => {
      const slot = slots[slotTick++ % slotCount]!;
      for (const conn of slot) {
        if (!conn.alive) {
          log.debug({ partyId: conn.group.partyId, userId: conn.userId }, 'party socket missed a ping; terminated');
          conn.ws.terminate();
          detach(conn);
          continue;
        }
        conn.alive = false;
        if (conn.ws.readyState === conn.ws.OPEN) conn.ws.ping();
      }
    },
    Math.max(1, Math.floor(pingIntervalMs / slotCount)),
  );
  keepAlive.unref();

  function attachSocket(partyId: string, user: JoiningUser, ws: WebSocket): void {
    const id = partyId.toLowerCase();
    const userId = user.id;
    if (closed || !isPartyId(id)) {
      ws.close(1001, 'party not available');
      return;
    }
    if ((groups.get(id)?.byUser.get(userId)?.size ?? 0) >= limits.socketsPerPerson) {
      // A clear refusal the player shows (and does not retry), not a silent cap.
      ws.close(1008, `too many players open: at most ${limits.socketsPerPerson} per person in a party`);
      return;
    }
    const group = groupOf(id);
    const slot = slots[nextSlot++ % slotCount]!;
    const conn: Conn = {
      ws,
      userId,
      group,
      slot,
      ready: false,
      alive: true,
      stale: false,
      skipped: 0,
      tokens: limits.wsBurst,
      refilledAt: now(),
      violations: [],
      lastRateErrorAt: 0,
      unsupported: { tokens: UNSUPPORTED_BURST, at: now() },
    };
    group.conns.add(conn);
    slot.add(conn);
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
    const open = (first: readonly ServerMessage[]): void => {
      if (!group.conns.has(conn)) return;
      conn.ready = true;
      for (const message of first) sendTo(conn, message);
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
  }

  return {
    attachSocket,
    publish,
    localUsers: (partyId) => groups.get(partyId)?.byUser ?? NO_USERS,

    reportPresence() {
      for (const group of [...groups.values()]) {
        if (ownership.get(group.partyId)) continue;
        ownership.call(group.partyId, 'presence', self, [...group.byUser.keys()], []).catch((error: unknown) => {
          log.debug({ err: error, partyId: group.partyId }, 'presence report failed');
        });
      }
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

    count: () => allConns().length,

    close() {
      closed = true;
      clearInterval(keepAlive);
      if (drainTimer) clearInterval(drainTimer);
      for (const group of [...groups.values()]) {
        for (const conn of group.conns) conn.ws.close(1001, 'server shutting down');
        group.conns.clear();
        group.byUser.clear();
      }
      groups.clear();
      for (const slot of slots) slot.clear();
    },
  };
}
