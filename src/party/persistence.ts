// Where watch parties live in the store, and the one writer that keeps them there. Every key of the
// `parties` namespace is made here (the Discord panel's too), so this file is its whole layout.
//
// A party is four keys, each written when it changed and only then:
//   party:{id}     the core: settings, queue, roles, removals (with the timeline as of that write)
//   members:{id}   who is present, and the co-hosts who are away (viewers who left are forgotten)
//   timeline:{id}  position, playing, seq, hold: small, and moves with every command
//   chat:{id}      the last messages of its chat (chat.ts), written within persistDelayMs
// The writer runs in passes, one at a time, each one transaction (setMany) for every party it
// writes. The timeline is written within 50 ms of a change, the members within persistDelayMs, and
// either, with the core, in the next tick when an answer waits for them. A change is answered only once it is on disk: callers
// wait on committed(). A restart or a takeover reads all three back (readRecord).
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { ChatRecord, PartyChat } from './chat.js';
import type { PartyCluster } from './cluster.js';
import { PartyRoom, type Member, type PartyRecord, type TimelineRecord } from './room.js';
import type { Visibility } from './protocol.js';

/** Every key of the `parties` namespace. */
export const partyKeys = {
  /** The live parties' ids, without a cluster (with one, the index is a Redis set: cluster.ts). */
  index: 'index',
  record: (id: string) => `party:${id}`,
  members: (id: string) => `members:${id}`,
  timeline: (id: string) => `timeline:${id}`,
  chat: (id: string) => `chat:${id}`,
  /** What an invite code names: `{ id, visibility }` (a bare id in stores written before visibility was kept). */
  code: (code: string) => `code:${code}`,
  /** Where a party's Discord panel is (panel.ts). */
  panel: (id: string) => `panel:${id}`,
  /** Where a party's Discord chat thread is, with the webhook that posts into it (thread.ts). */
  thread: (id: string) => `thread:${id}`,
  /** The party a Discord thread is the chat of (thread.ts). */
  threadParty: (threadId: string) => `thread-party:${threadId}`,
  /** The bot's webhook in a channel, made once (thread.ts). */
  webhook: (channelId: string) => `webhook:${channelId}`,
  /** The party whose panel was last posted in a channel (panel.ts). */
  channel: (channelId: string) => `channel:${channelId}`,
} as const;

/** What an invite code names in the store. */
export interface CodeEntry {
  id: string;
  /** Unknown for codes stored before it was kept. */
  visibility: Visibility | null;
}

/** A party as a restart or a takeover reads it back. */
export interface StoredParty {
  record: PartyRecord;
  chat: ChatRecord[];
}

/** The core as stored: the record less its members, which have their own key. */
type StoredCore = Omit<PartyRecord, 'v' | 'members'> & { v: 2 };

export interface PartyPersistence {
  /** A party changed: its timeline is written within 50 ms, the rest within persistDelayMs. */
  markDirty(id: string): void;
  /** Its chat changed (and nothing else): written within persistDelayMs. */
  markChatDirty(id: string): void;
  /**
   * Resolves once the party's core as it is now (settings, queue, roles, removals), its chat and its
   * timeline are on disk; at once when nothing of them waits to be written. Answer a change only after this
   * (frames to the party's sockets go out first: they must not wait for a disk).
   */
  committed(id: string): Promise<void>;
  /** Writes everything pending now. */
  flush(): Promise<void>;
  /** A new party: its record, then its invite code and its place in the index. */
  add(id: string, inviteCode: string, visibility: Visibility): Promise<void>;
  /** A party that ended: its keys are removed at the next flush. */
  markDeleted(id: string): void;
  /** Takes a party out of the index (with a cluster), and its invite code with it when given. */
  unlist(id: string, inviteCode?: string): Promise<void>;
  hasRecord(id: string): Promise<boolean>;
  /** A stored party as its last owner left it: the core, its members, the timeline written since, its chat. */
  readRecord(id: string): Promise<StoredParty | null>;
  codeEntry(code: string): Promise<CodeEntry | undefined>;
  /** The live parties' ids: with a cluster the Redis set every process shares, alone the stored list. */
  listed(): Promise<string[]>;
  /**
   * At start: with a cluster, claims the listed parties nobody owns (the others stay where they are);
   * alone, adopts every listed party.
   */
  loadParties(take: { claim(id: string): Promise<boolean>; adopt(stored: StoredParty): void }): Promise<void>;
  /** No more timers; writes what is pending. */
  close(): Promise<void>;
}

export interface PartyPersistenceOptions {
  store: Pick<Store, 'parties'>;
  cluster: PartyCluster | undefined;
  log: Logger;
  persistDelayMs: number;
  /** The room and chat of a party this process owns and may still act for (ownership's ownedNow). */
  roomOf: (id: string) => { room: PartyRoom; chat: PartyChat } | undefined;
  /** The parties this process owns, for the index without a cluster. */
  ownedIds: () => Iterable<string>;
  /** After a coalesced pass wrote a party that changed (at most once per persistDelayMs). */
  written: (id: string) => void;
}

/** A changed timeline is written within this long (sooner when an answer waits for it). */
const TIMELINE_DELAY_MS = 50;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A pass nobody waits for logs its own failure.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export function createPartyPersistence(options: PartyPersistenceOptions): PartyPersistence {
  const { store, cluster, log, persistDelayMs, roomOf } = options;
  /** Parties changed since the last pass: their timeline goes in the next one. */
  const timelines = new Set<string>();
  /** Parties changed since the last coalesced pass: their members and core go then (or sooner). */
  const changed = new Set<string>();
  /** Parties whose core someone waits for: the next pass writes all of them, at once. */
  const urgent = new Set<string>();
  const deleted = new Set<string>();
  /** Parties whose room changed since the last coalesced pass (not only their chat): written() tells of them. */
  const roomChanged = new Set<string>();
  /** The pass that wrote (or is writing) a party's core last: committed() waits for it. */
  const inFlight = new Map<string, Promise<void>>();
  let indexDirty = false;
  let soon: { timer: NodeJS.Immediate; done: Deferred } | undefined;
  let later: NodeJS.Timeout | undefined;
  let timelineTimer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  /** Runs a pass after the one under way, so a slow write can never land after a newer one. */
  function enqueue(coalesced: boolean): Promise<void> {
    const run = writing.then(() => pass(coalesced));
    writing = run.catch(() => undefined);
    return run;
  }

  /** The next pass, in the next tick: where a timeline goes, and what committed() waits for. */
  function passSoon(): Promise<void> {
    if (soon) return soon.done.promise;
    const done = deferred();
    const timer = setImmediate(() => {
      soon = undefined;
      enqueue(false).then(done.resolve, (error: unknown) => {
        log.error({ err: error }, 'party persist failed');
        done.reject(error);
      });
    });
    soon = { timer, done };
    return done.promise;
  }

  function markDirty(id: string): void {
    timelines.add(id);
    roomChanged.add(id);
    markChatDirty(id);
    if (closed) return;
    // Timelines wait a moment for each other (one write for every party's change within it), unless
    // an answer waits for one: committed() asks for the next pass at once.
    timelineTimer ??= setTimeout(() => {
      timelineTimer = undefined;
      void passSoon();
    }, TIMELINE_DELAY_MS);
  }

  function markChatDirty(id: string): void {
    changed.add(id);
    if (closed) return;
    later ??= setTimeout(() => {
      later = undefined;
      enqueue(true).catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
    }, persistDelayMs);
  }

  /**
   * One pass: every changed timeline, and the members and core of the parties that changed (all of
   * them when coalesced, else those someone waits for), in one setMany; then what ended.
   */
  async function pass(coalesced: boolean): Promise<void> {
    const entries: Array<{ key: string; value: unknown }> = [];
    // A coalesced pass writes every party that changed; one in the next tick, those waited for. The
    // latter stay in `changed`, so the coalesced pass still tells the panel about them.
    const full = coalesced ? [...changed] : [...urgent];
    const told = coalesced ? [...roomChanged] : [];
    if (coalesced) {
      changed.clear();
      roomChanged.clear();
    }
    const withCore = new Set<string>();
    const withChat = new Set<string>();
    for (const id of full) {
      urgent.delete(id);
      const owned = roomOf(id);
      if (!owned) continue;
      const { room, chat } = owned;
      const parts = room.takeChanges();
      if (parts.core) {
        entries.push({ key: partyKeys.record(id), value: storedCore(room) });
        withCore.add(id);
      }
      if (parts.members) entries.push({ key: partyKeys.members(id), value: room.memberRecords() });
      if (chat.takeChanged()) {
        entries.push({ key: partyKeys.chat(id), value: chat.records() });
        withChat.add(id);
      }
    }
    const touched = new Set([...withCore, ...withChat]);
    for (const id of timelines) {
      const room = roomOf(id)?.room;
      if (!room) continue;
      touched.add(id);
      // A core carries the timeline as of its write; a separate timeline then is only a repeat.
      if (!withCore.has(id)) entries.push({ key: partyKeys.timeline(id), value: room.timelineRecord() });
    }
    timelines.clear();
    const gone = coalesced ? [...deleted] : [];
    for (const id of gone) deleted.delete(id);
    const writeIndex = coalesced && indexDirty;
    if (writeIndex) indexDirty = false;

    const write = (async () => {
      if (entries.length > 0) await store.parties.setMany(entries);
      if (gone.length > 0) {
        await store.parties.delete(
          gone.flatMap((id) => [
            partyKeys.record(id),
            partyKeys.members(id),
            partyKeys.timeline(id),
            partyKeys.chat(id),
          ]),
        );
      }
      // With a cluster the index is a Redis set changed in place; alone, it is this list.
      if (writeIndex && !cluster) await store.parties.set(partyKeys.index, [...options.ownedIds()]);
    })();
    for (const id of touched) inFlight.set(id, write);
    try {
      await write;
    } finally {
      for (const id of touched) if (inFlight.get(id) === write) inFlight.delete(id);
    }
    for (const id of told) options.written(id);
  }

  const storedCore = (room: PartyRoom): StoredCore => ({ ...room.coreRecord(), v: 2 });

  function flush(): Promise<void> {
    clearTimeout(later);
    later = undefined;
    clearTimeout(timelineTimer);
    timelineTimer = undefined;
    if (soon) {
      clearImmediate(soon.timer);
      const { done } = soon;
      soon = undefined;
      const run = enqueue(true);
      run.then(done.resolve, done.reject);
      return run;
    }
    return enqueue(true);
  }

  async function readRecord(id: string): Promise<StoredParty | null> {
    const stored = await store.parties.get<StoredCore | PartyRecord>(partyKeys.record(id));
    if (!stored) return null;
    let record: PartyRecord;
    if (stored.v === 1)
      record = stored; // the whole party in one key, as written before the split
    else if (stored.v === 2) {
      record = { ...stored, v: 1, members: (await store.parties.get<Member[]>(partyKeys.members(id))) ?? [] };
    } else return null;
    return {
      record: PartyRoom.withTimeline(record, await store.parties.get<TimelineRecord>(partyKeys.timeline(id))),
      chat: (await store.parties.get<ChatRecord[]>(partyKeys.chat(id))) ?? [],
    };
  }

  const listed = async (): Promise<string[]> =>
    cluster ? cluster.index.all() : ((await store.parties.get<string[]>(partyKeys.index)) ?? []);

  return {
    markDirty,
    markChatDirty,
    flush,

    committed(id) {
      const owned = roomOf(id);
      if (owned && (owned.room.coreChanged || owned.chat.pending)) {
        urgent.add(id);
        changed.add(id);
        return passSoon();
      }
      // The timeline goes in the next pass anyway; an answer waits for it.
      if (timelines.has(id)) return passSoon();
      return inFlight.get(id) ?? Promise.resolve();
    },

    async add(id, inviteCode, visibility) {
      indexDirty = true;
      markDirty(id);
      await flush();
      await store.parties.set(partyKeys.code(inviteCode), { id, visibility } satisfies CodeEntry);
      await cluster?.index.add(id);
    },

    markDeleted(id) {
      changed.delete(id);
      urgent.delete(id);
      timelines.delete(id);
      roomChanged.delete(id);
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

    async codeEntry(code) {
      const entry = await store.parties.get<CodeEntry | string>(partyKeys.code(code));
      if (entry === undefined) return undefined;
      return typeof entry === 'string' ? { id: entry, visibility: null } : entry;
    },
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
