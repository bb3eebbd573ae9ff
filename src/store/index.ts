// The bot's persistent state: one keyv namespace per kind of record, on sqlite by default.
// Durable namespaces throw on a failed write (keyv swallows errors by default), so nothing
// is silently lost; the cache namespace may fail softly.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import type { Logger } from '../logger.js';

export const namespaces = ['meta', 'guilds', 'alerts', 'parties', 'cache'] as const;
export type Namespace = (typeof namespaces)[number];

export interface Store {
  /** bot-wide records: the registered commands' hash, the party token secret */
  meta: Keyv;
  /** per-guild settings and alert subscriptions */
  guilds: Keyv;
  /** the exactly-once alert log */
  alerts: Keyv;
  /** watch parties */
  parties: Keyv;
  /** Parti response cache (entries carry their own TTL) */
  cache: Keyv;
  readonly kind: 'sqlite' | 'redis';
  isOpen(): boolean;
  /** Deletes expired cache rows; sqlite has no native TTL, so they would otherwise pile up. */
  purgeExpired(): Promise<number>;
  /**
   * Takes or renews the named lease for `owner` for `ttlMs`; false while another owner holds it.
   * Decides which of several processes sharing a Redis does a once-only job (listening for
   * go-lives). A sqlite file belongs to one process, which always holds every lease.
   */
  lease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives a held lease up at once, so another process need not wait for it to expire. */
  releaseLease(name: string, owner: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * @keyv/sqlite writes one row per statement. Rows written with setMany go in one INSERT instead: one
 * transaction, so a party's parts (persistence.ts) land together or not at all, in one trip to the
 * database thread.
 */
class KeyvSqliteBatched extends KeyvSqlite {
  async setMany(entries: Array<{ key: string; value: unknown }>): Promise<boolean[]> {
    if (entries.length === 0) return [];
    await this.query(
      `INSERT INTO ${this.opts.table} (key, value) VALUES ${entries.map(() => '(?, ?)').join(', ')}
       ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
      ...entries.flatMap((entry) => [entry.key, entry.value]),
    );
    return entries.map(() => true);
  }
}

export async function openStore(url: string, logger: Logger): Promise<Store> {
  const log = logger.child({ module: 'store' });
  if (/^rediss?:\/\//.test(url)) return openRedisStore(url, log);
  if (!url.startsWith('sqlite://')) {
    throw new Error(`STORE_URL ${url.split(':')[0]}:// is not supported: use sqlite://path or redis://host:port`);
  }
  const file = url.slice('sqlite://'.length);
  if (file !== ':memory:') await mkdir(dirname(file), { recursive: true });

  const adapters = new Map<Namespace, KeyvSqliteBatched>();
  const open = (namespace: Namespace): Keyv => {
    // One table per namespace keeps records of different kinds apart and lets purgeExpired
    // touch the cache only. busyTimeout lets the per-table connections wait for each other.
    const adapter = new KeyvSqliteBatched({ uri: url, table: namespace, busyTimeout: 10_000 });
    adapters.set(namespace, adapter);
    const keyv = new Keyv({ store: adapter, namespace, throwOnErrors: namespace !== 'cache' });
    keyv.on('error', (error: unknown) => log.error({ err: error, namespace }, 'store error'));
    return keyv;
  };
  // WAL survives a kill -9 mid-write and lets readers proceed during writes; the setting persists in
  // the file. It is set while the first connection has the file to itself: switching the journal
  // mode while other connections are opening their tables fails with SQLITE_BUSY (the busy timeout
  // does not cover it). NORMAL sync in WAL mode loses nothing on a process crash; it is per connection.
  const meta = open('meta');
  await adapters.get('meta')?.query('PRAGMA journal_mode=WAL');
  const [guilds, alerts, parties, cache] = namespaces.slice(1).map(open) as [Keyv, Keyv, Keyv, Keyv];
  for (const adapter of adapters.values()) await adapter.query('PRAGMA synchronous=NORMAL');
  // Touch every table so a broken file fails here, at start, with a clear message.
  await Promise.all([meta, guilds, alerts, parties, cache].map((keyv) => keyv.get('__open__')));

  let openState = true;
  log.info({ file }, 'store open');
  return {
    meta,
    guilds,
    alerts,
    parties,
    cache,
    kind: 'sqlite',
    isOpen: () => openState,
    lease: () => Promise.resolve(true),
    releaseLease: () => Promise.resolve(),
    async purgeExpired() {
      const adapter = adapters.get('cache');
      if (!adapter) return 0;
      const rows = (await adapter.query(
        `DELETE FROM cache WHERE json_extract(value, '$.expires') < ? RETURNING key`,
        Date.now(),
      )) as unknown[];
      return rows.length;
    },
    async close() {
      if (!openState) return;
      openState = false;
      await Promise.allSettled([...adapters.values()].map((adapter) => adapter.disconnect()));
      log.info('store closed');
    },
  };
}

/** Takes the lease in KEYS[1] for ARGV[1] for ARGV[2] ms if it is free or already theirs; 1 when held. */
export const LEASE_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Deletes the lease in KEYS[1] if ARGV[1] holds it. */
export const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Redis, for several bot or party processes sharing state. `?prefix=NAME` on the URL puts every
 * key under NAME (default `parti-bot`), so bots (or test runs) can share one Redis.
 */
async function openRedisStore(url: string, log: Logger): Promise<Store> {
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix') || 'parti-bot';
  parsed.search = '';
  const connection = parsed.toString();
  const adapters: KeyvRedis<unknown>[] = [];
  const open = (namespace: Namespace): Keyv => {
    const durable = namespace !== 'cache';
    const adapter = new KeyvRedis(connection, { throwOnConnectError: true, throwOnErrors: durable });
    adapters.push(adapter);
    // The adapter prefixes keys with the namespace itself; keyv's own prefix would double it.
    const keyv = new Keyv({
      store: adapter,
      namespace: `${prefix}:${namespace}`,
      useKeyPrefix: false,
      throwOnErrors: durable,
    });
    keyv.on('error', (error: unknown) => log.error({ err: error, namespace }, 'store error'));
    return keyv;
  };
  const [meta, guilds, alerts, parties, cache] = namespaces.map(open) as [Keyv, Keyv, Keyv, Keyv, Keyv];
  await Promise.all([meta, guilds, alerts, parties, cache].map((keyv) => keyv.get('__open__')));
  // Leases need atomic commands keyv does not have; the meta adapter's connection runs them.
  const redis = adapters[0]!.client as unknown as { sendCommand(args: string[]): Promise<unknown> };
  let openState = true;
  log.info({ redis: `${parsed.host}${parsed.pathname}`, prefix }, 'store open');
  return {
    meta,
    guilds,
    alerts,
    parties,
    cache,
    kind: 'redis',
    isOpen: () => openState,
    async lease(name, owner, ttlMs) {
      // Take it if free, or renew it if ours, in one atomic step on the server.
      const result = await redis.sendCommand([
        'EVAL',
        LEASE_SCRIPT,
        '1',
        `${prefix}:lease:${name}`,
        owner,
        String(Math.ceil(ttlMs)),
      ]);
      return result === 1;
    },
    async releaseLease(name, owner) {
      await redis.sendCommand(['EVAL', RELEASE_SCRIPT, '1', `${prefix}:lease:${name}`, owner]);
    },
    // Redis expires keys with a TTL by itself.
    purgeExpired: () => Promise.resolve(0),
    async close() {
      if (!openState) return;
      openState = false;
      await Promise.allSettled(adapters.map((adapter) => adapter.disconnect()));
      log.info('store closed');
    },
  };
}
