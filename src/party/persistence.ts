// Where watch parties live in the store, and the writer that keeps them there. Every key of the
// `parties` namespace is made here (the Discord panel's too), so this file is its whole layout.
// An owned room's timeline (position, playing, seq) is written on every change and its full record
// at most once per persistDelayMs; a restart or a takeover reads both back (readRecord).
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { PartyCluster } from './cluster.js';
import { PartyRoom, type PartyRecord, type TimelineRecord } from './room.js';

/** Every key of the `parties` namespace. */
export const partyKeys = {
  /** The live parties' ids, without a cluster (with one, the index is a Redis set: cluster.ts). */
  index: 'index',
  record: (id: string) => `party:${id}`,
  timeline: (id: string) => `timeline:${id}`,
  code: (code: string) => `code:${code}`,
  /** Where a party's Discord panel is (panel.ts). */
  panel: (id: string) => `panel:${id}`,
  /** The party whose panel was last posted in a channel (panel.ts). */
  channel: (channelId: string) => `channel:${channelId}`,
} as const;

export interface PartyPersistence {
  /** A party changed: its timeline is written at once, its full record within persistDelayMs. */
  markDirty(id: string): void;
  /** Writes everything pending now. */
  flush(): Promise<void>;
  /** A new party: its record, then its invite code and its place in the index. */
  add(id: string, inviteCode: string): Promise<void>;
  /** A party that ended: its record and timeline are removed at the next flush. */
  markDeleted(id: string): void;
  /** Takes a party out of the index (with a cluster), and its invite code with it when given. */
  unlist(id: string, inviteCode?: string): Promise<void>;
  hasRecord(id: string): Promise<boolean>;
  /** A stored party as its last owner left it: the full record, with the timeline written since. */
  readRecord(id: string): Promise<PartyRecord | null>;
  partyOfCode(code: string): Promise<string | undefined>;
  /** The live parties' ids: with a cluster the Redis set every process shares, alone the stored list. */
  listed(): Promise<string[]>;
  /**
   * At start: with a cluster, claims the listed parties nobody owns (the others stay where they are);
   * alone, adopts every listed party.
   */
  loadParties(take: { claim(id: string): Promise<boolean>; adopt(record: PartyRecord): void }): Promise<void>;
  /** No more timers; writes what is pending. */
  close(): Promise<void>;
}

export interface PartyPersistenceOptions {
  store: Pick<Store, 'parties'>;
  cluster: PartyCluster | undefined;
  log: Logger;
  persistDelayMs: number;
  /** The room of a party this process owns and may still act for (ownership's ownedNow). */
  roomOf: (id: string) => PartyRoom | undefined;
  /** The parties this process owns, for the index without a cluster. */
  ownedIds: () => Iterable<string>;
  /** After a party's full record was written. */
  written: (id: string) => void;
}

export function createPartyPersistence(options: PartyPersistenceOptions): PartyPersistence {
  const { store, cluster, log, persistDelayMs, roomOf } = options;
  const dirty = new Set<string>();
  const timelinesDirty = new Set<string>();
  const deleted = new Set<string>();
  let indexDirty = false;
  let timelineTimer: NodeJS.Immediate | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  function markDirty(id: string): void {
    dirty.add(id);
    timelinesDirty.add(id);
    if (closed) return;
    timelineTimer ??= setImmediate(() => {
      timelineTimer = undefined;
      void persist(false).catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
    });
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      void flush().catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
    }, persistDelayMs);
  }

  function flush(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    clearImmediate(timelineTimer);
    timelineTimer = undefined;
    return persist(true);
  }

  /** Writes the changed timelines, and with `records` the changed full records too. */
  function persist(records: boolean): Promise<void> {
    // One writer at a time, so a slow write can never land after a newer one.
    const run = writing.then(async () => {
      const timelines = [...timelinesDirty];
      timelinesDirty.clear();
      for (const id of timelines) {
        const room = roomOf(id);
        if (room) await store.parties.set(partyKeys.timeline(id), room.timelineRecord());
      }
      if (!records) return;
      const ids = [...dirty];
      dirty.clear();
      const gone = [...deleted];
      deleted.clear();
      const writeIndex = indexDirty;
      indexDirty = false;
      for (const id of ids) {
        const room = roomOf(id);
        if (room) await store.parties.set(partyKeys.record(id), room.toRecord());
      }
      for (const id of gone) {
        await store.parties.delete(partyKeys.record(id));
        await store.parties.delete(partyKeys.timeline(id));
      }
      // With a cluster the index is a Redis set changed in place; alone, it is this list.
      if (writeIndex && !cluster) await store.parties.set(partyKeys.index, [...options.ownedIds()]);
      for (const id of ids) options.written(id);
    });
    writing = run.catch(() => undefined);
    return run;
  }

  async function readRecord(id: string): Promise<PartyRecord | null> {
    const record = await store.parties.get<PartyRecord>(partyKeys.record(id));
    if (record?.v !== 1) return null;
    return PartyRoom.withTimeline(record, await store.parties.get<TimelineRecord>(partyKeys.timeline(id)));
  }

  const listed = async (): Promise<string[]> =>
    cluster ? cluster.index.all() : ((await store.parties.get<string[]>(partyKeys.index)) ?? []);

  return {
    markDirty,
    flush,

    async add(id, inviteCode) {
      indexDirty = true;
      markDirty(id);
      await flush();
      await store.parties.set(partyKeys.code(inviteCode), id);
      await cluster?.index.add(id);
    },

    markDeleted(id) {
      dirty.delete(id);
      deleted.add(id);
      indexDirty = true;
    },

    async unlist(id, inviteCode) {
      await Promise.all([
        inviteCode === undefined ? undefined : store.parties.delete(partyKeys.code(inviteCode)),
        cluster?.index.remove(id),
      ]);
    },

    hasRecord: (id) => store.parties.has(partyKeys.record(id)),
    readRecord,

    partyOfCode: (code) => store.parties.get<string>(partyKeys.code(code)),
    listed,

    async loadParties(take) {
      for (const id of await listed()) {
        if (cluster) {
          await take.claim(id);
          continue;
        }
        const record = await readRecord(id);
        if (record) take.adopt(record);
      }
    },

    close() {
      closed = true;
      return flush();
    },
  };
}
