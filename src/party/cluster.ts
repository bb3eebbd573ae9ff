// Several party processes sharing one Redis (STORE_URL=redis://…). Each party has exactly one owner
// at a time, decided by a lease in Redis: the owner holds the room, applies every change in order
// and persists it. Any process can hold a party's sockets; it forwards what they send to the owner
// (request/reply over pub/sub) and follows the party's channel, on which the owner publishes every
// frame once. Both directions go through one publishing and one subscribing connection per process,
// so a reply never overtakes a frame published before it. Also here: the index of live parties
// (a Redis set) and the join/create rate limits, shared by every process.
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import type { Logger } from '../logger.js';
import { LEASE_SCRIPT, RELEASE_SCRIPT } from '../store/index.js';
import type { RateDecision, RateLimiter } from './rateLimit.js';

export interface ClusterRequest {
  op: string;
  partyId: string;
  args: unknown[];
}

/** What a failed request carries back: a PartyError's fields, or NOT_OWNER when the party moved. */
export interface RemoteFailure {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number | undefined;
}

export class ClusterError extends Error {
  override name = 'ClusterError';
  constructor(
    /** `timeout`: no answer in time (the owner may have died); `remote`: the owner answered with a failure. */
    readonly kind: 'timeout' | 'remote',
    readonly failure?: RemoteFailure,
  ) {
    super(kind === 'timeout' ? 'the party owner did not answer' : (failure?.message ?? 'remote failure'));
  }
}

export interface PartyCluster {
  readonly instanceId: string;
  /** Sends a message to every process following the party, in the order of the calls. */
  publish(partyId: string, message: string): void;
  /** Starts delivering the party's channel to `onMessage`; resolves once the subscription is live. */
  follow(partyId: string, onMessage: (message: string) => void): Promise<void>;
  unfollow(partyId: string): Promise<void>;
  /**
   * Runs `request` on the process `instanceId`; rejects with ClusterError. A retry passes the `id` of
   * the first attempt: a process that already ran it answers again without running it twice.
   */
  request(instanceId: string, request: ClusterRequest, timeoutMs: number, id?: string): Promise<unknown>;
  /** Called when the subscribing connection is back after a drop: messages may have been missed. */
  onResubscribed(listener: () => void): void;
  /** Answers requests from other processes; a thrown RemoteFailure-shaped error goes back as such. */
  serve(handler: (request: ClusterRequest) => unknown): void;
  /** Takes or renews the ownership lease of a party. */
  claim(partyId: string, ttlMs: number): Promise<boolean>;
  release(partyId: string): Promise<void>;
  /** The process owning a party now, or null when nobody does. */
  owner(partyId: string): Promise<string | null>;
  index: {
    add(partyId: string): Promise<void>;
    remove(partyId: string): Promise<void>;
    all(): Promise<string[]>;
  };
  rateLimiter: RateLimiter;
  close(): Promise<void>;
}

// A sliding-window log in a sorted set, timed by the Redis server's clock so that processes with
// slightly different clocks agree. Returns 0 when the hit counts (or, with no member given, when one
// would), else the ms until one expires.
const RATE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if ARGV[3] == '' then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0`;

/** How long a process remembers the answers it gave, for retries: well past a caller's last attempt. */
const ANSWER_MEMORY_MS = 15_000;
/**
 * Answers bigger than this are not kept: they carry a whole party (a join, an attach, a view), and
 * those requests give the same answer when they run again. Remembering them would hold megabytes
 * while a big party fills up.
 */
const ANSWER_MEMORY_MAX_BYTES = 64 * 1024;
const ANSWER_MEMORY_MAX_ENTRIES = 10_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

type Reply =
  { k: 'res'; id: string; ok: true; value: unknown } | { k: 'res'; id: string; ok: false; failure: RemoteFailure };

type Envelope = { k: 'req'; id: string; from: string; req: ClusterRequest } | Reply | { k: 'probe'; id: string };

/** Connects to the Redis of `url` (`?prefix=` as for STORE_URL) and joins the cluster as a new process. */
export async function connectPartyCluster(url: string, logger: Logger): Promise<PartyCluster> {
  const log = logger.child({ module: 'party-cluster' });
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix') || 'parti-bot';
  parsed.search = '';
  const instanceId = randomUUID();
  const key = (name: string): string => `${prefix}:${name}`;
  const partyChannel = (partyId: string): string => key(`party-channel:${partyId}`);
  const inbox = key(`party-rpc:${instanceId}`);

  const pub = createClient({ url: parsed.toString() });
  const sub = pub.duplicate();
  for (const client of [pub, sub]) client.on('error', (error: unknown) => log.warn({ err: error }, 'redis error'));
  await Promise.all([pub.connect(), sub.connect()]);

  const pending = new Map<string, Pending>();
  const resubscribed = new Set<() => void>();
  let probe: { id: string; seen: () => void } | undefined;
  // node-redis subscribes again by itself after a reconnect; what was published meanwhile is lost.
  // Once a probe published to this process's own channel comes back, the subscriptions are live
  // again (they were renewed before it), and the listeners can catch their sockets up.
  // (Registered after the first connect: every 'ready' from now on is a reconnect.)
  sub.on('ready', () => {
    void (async () => {
      for (let attempt = 0; attempt < 20 && !closed; attempt++) {
        const id = randomUUID();
        const back = new Promise<boolean>((resolve) => {
          probe = { id, seen: () => resolve(true) };
          setTimeout(() => resolve(false), 500).unref();
        });
        send(inbox, { k: 'probe', id });
        if (await back) {
          log.info('redis subscription back; catching sockets up');
          for (const listener of resubscribed) listener();
          return;
        }
      }
    })();
  });
  let handler: ((request: ClusterRequest) => unknown) | undefined;
  let closed = false;

  const sendRaw = (channel: string, json: string): void => {
    pub.publish(channel, json).catch((error: unknown) => {
      log.warn({ err: error, channel }, 'publish failed');
    });
  };
  const send = (channel: string, envelope: Envelope): void => sendRaw(channel, JSON.stringify(envelope));

  // A request retried after a timeout carries the id of its first attempt: the owner answers it
  // again from here instead of applying it twice (an added clip must not be queued twice).
  const answered = new Map<string, { at: number; reply: Promise<{ json: string; keep: boolean }> }>();

  async function run(envelope: Extract<Envelope, { k: 'req' }>): Promise<Reply> {
    try {
      if (!handler) throw Object.assign(new Error('not serving'), { status: 503, code: 'NOT_OWNER' });
      const value = await handler(envelope.req);
      return { k: 'res', id: envelope.id, ok: true, value: value ?? null };
    } catch (error) {
      const { status, code, message, retryAfterSeconds } = error as Partial<RemoteFailure>;
      const failure: RemoteFailure =
        typeof status === 'number' && typeof code === 'string'
          ? { status, code, message: String(message), retryAfterSeconds }
          : { status: 500, code: 'INTERNAL', message: 'the party server failed' };
      if (failure.status === 500) log.error({ err: error, op: envelope.req.op }, 'party request failed');
      return { k: 'res', id: envelope.id, ok: false, failure };
    }
  }

  async function answer(envelope: Extract<Envelope, { k: 'req' }>): Promise<void> {
    const now = Date.now();
    for (const [id, entry] of answered) {
      if (now - entry.at < ANSWER_MEMORY_MS && answered.size < ANSWER_MEMORY_MAX_ENTRIES) break;
      answered.delete(id);
    }
    let entry = answered.get(envelope.id);
    if (!entry) {
      const reply = run(envelope).then((result) => {
        const json = JSON.stringify(result);
        // NOT_OWNER: nothing ran, and should this process own the party later, a retry must run.
        const keep = (result.ok || result.failure.code !== 'NOT_OWNER') && json.length <= ANSWER_MEMORY_MAX_BYTES;
        return { json, keep };
      });
      entry = { at: now, reply };
      answered.set(envelope.id, entry);
    }
    const { json, keep } = await entry.reply;
    if (!keep) answered.delete(envelope.id);
    sendRaw(key(`party-rpc:${envelope.from}`), json);
  }

  await sub.subscribe(inbox, (raw) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(raw) as Envelope;
    } catch {
      return;
    }
    if (envelope.k === 'req') {
      void answer(envelope);
      return;
    }
    if (envelope.k === 'probe') {
      if (probe?.id === envelope.id) probe.seen();
      return;
    }
    const waiting = pending.get(envelope.id);
    if (!waiting) return;
    pending.delete(envelope.id);
    clearTimeout(waiting.timer);
    if (envelope.ok) waiting.resolve(envelope.value);
    else waiting.reject(new ClusterError('remote', envelope.failure));
  });

  async function rate(name: string, limit: number, windowMs: number, member: string): Promise<RateDecision> {
    const wait = Number(
      await pub.eval(RATE_SCRIPT, {
        keys: [key(`rate:${name}`)],
        arguments: [String(windowMs), String(limit), member],
      }),
    );
    return wait === 0 ? { ok: true } : { ok: false, retryAfterMs: wait };
  }
  const rateLimiter: RateLimiter = {
    hit: (name, limit, windowMs) => rate(name, limit, windowMs, randomUUID()),
    peek: (name, limit, windowMs) => rate(name, limit, windowMs, ''),
  };

  log.info({ instanceId }, 'joined the party cluster');
  return {
    instanceId,
    publish: (partyId, message) => sendRaw(partyChannel(partyId), message),
    follow: (partyId, onMessage) => sub.subscribe(partyChannel(partyId), onMessage),
    unfollow: (partyId) => sub.unsubscribe(partyChannel(partyId)),
    request(target, req, timeoutMs, id = randomUUID()) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new ClusterError('timeout'));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        send(key(`party-rpc:${target}`), { k: 'req', id, from: instanceId, req });
      });
    },
    onResubscribed(listener) {
      resubscribed.add(listener);
    },
    serve(next) {
      handler = next;
    },
    async claim(partyId, ttlMs) {
      const result = await pub.eval(LEASE_SCRIPT, {
        keys: [key(`party-owner:${partyId}`)],
        arguments: [instanceId, String(Math.ceil(ttlMs))],
      });
      return Number(result) === 1;
    },
    async release(partyId) {
      await pub.eval(RELEASE_SCRIPT, { keys: [key(`party-owner:${partyId}`)], arguments: [instanceId] });
    },
    owner: async (partyId) => (await pub.get(key(`party-owner:${partyId}`))) ?? null,
    index: {
      add: async (partyId) => void (await pub.sAdd(key('party-index'), partyId)),
      remove: async (partyId) => void (await pub.sRem(key('party-index'), partyId)),
      all: () => pub.sMembers(key('party-index')),
    },
    rateLimiter,
    async close() {
      if (closed) return;
      closed = true;
      for (const waiting of pending.values()) {
        clearTimeout(waiting.timer);
        waiting.reject(new ClusterError('timeout'));
      }
      pending.clear();
      await Promise.allSettled([sub.quit(), pub.quit()]);
    },
  };
}
