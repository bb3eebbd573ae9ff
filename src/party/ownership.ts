// Which watch parties this process owns, and running an op where its party is owned. Alone, this
// process owns every party. With a PartyCluster (several processes on one Redis) a lease in Redis
// names each party's one owner: this process renews the leases it holds, claims a party whose
// owner is gone (loading it from the store), and sends an op for a party owned elsewhere to its
// owner as a request. The ops themselves are the owner side's (owner.ts).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { ClusterError, type PartyCluster } from './cluster.js';
import { notFound, PartyError } from './errors.js';
import type { PartyChat } from './chat.js';
import type { CodeEntry, PartyPersistence, StoredParty } from './persistence.js';
import type { PartyErrorCode } from './protocol.js';
import type { PartyRoom } from './room.js';

/** A party this process owns: the room, its lease, and the owner side's timers and reports (owner.ts). */
export interface Owned {
  room: PartyRoom;
  /** The party's chat (chat.ts): beside the room, persisted with it. */
  chat: PartyChat;
  /** Pending "this user leaves unless they (re)connect" timers. */
  leaveTimers: Map<string, NodeJS.Timeout>;
  /** Fires when the room's nextDeadline() comes (a wait-for-everyone hold's cap). */
  tickTimer: NodeJS.Timeout | undefined;
  emptySince: number | null;
  /** Users with sockets on other processes, as those processes last reported. */
  remote: Map<string, { users: Set<string>; seenAt: number }>;
  /**
   * Until when (performance.now()) this process may act for the party: the lease's length from when
   * its last successful take or renewal was sent, so it always ends before Redis lets another process
   * take it. Infinity without a cluster.
   */
  leaseUntil: number;
}

/**
 * The owner side's ops (owner.ts): everything that reads or changes a room. Each takes the party,
 * then arguments that are plain JSON, like its result: with a cluster they travel between processes.
 */
export type OpTable = Record<string, (party: Owned, ...args: never[]) => unknown>;
export type OpArgs<Ops extends OpTable, K extends keyof Ops> = Ops[K] extends (
  party: Owned,
  ...args: infer A
) => unknown
  ? A
  : never;

const PARTY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Party ids are UUIDs; anything else names no party. */
export const isPartyId = (id: string): boolean => PARTY_ID.test(id);

export interface PartyOwnership<Ops extends OpTable> {
  /**
   * Runs an op where the party is owned: here at once (in this tick), or as a request to its owner.
   * An acknowledged op resolves once what it changed is on disk (persistence.committed).
   */
  call<K extends keyof Ops & string>(
    partyId: string,
    op: K,
    ...args: OpArgs<Ops, K>
  ): Promise<Awaited<ReturnType<Ops[K]>>>;
  /** Runs an op in this tick if this process owns the party and may act for it; undefined if not. */
  runLocal<K extends keyof Ops & string>(
    partyId: string,
    op: K,
    ...args: OpArgs<Ops, K>
  ): { value: ReturnType<Ops[K]> } | undefined;
  /** The party if this process owns it, its lease unchecked. */
  get(id: string): Owned | undefined;
  /**
   * The party if this process owns it and may still act for it. An owner that stalled (a long GC, a
   * paused VM) past its lease wakes up with requests queued and its renewal not yet answered; another
   * process may own the party by then. It stops acting at once instead of for up to a third of a lease:
   * no frame, no answer and no store write from a lease that has run out.
   */
  ownedNow(id: string): Owned | undefined;
  parties(): Owned[];
  /** An owned party's id and visibility by its invite code. */
  entryOfCode(code: string): CodeEntry | undefined;
  /** Takes the lease of a party just created; resolves to when it runs out. */
  claimNew(id: string): Promise<number>;
  /** Becomes a party's owner with a lease until `leaseUntil`. */
  own(room: PartyRoom, chat: PartyChat, leaseUntil: number): Owned;
  /** Stops acting on a party (its timers), without ending it: on close, or when the lease was lost. */
  disown(party: Owned): void;
  /** Takes a party nobody owns; true when this process owns it afterwards. */
  claim(id: string): Promise<boolean>;
  /** Forgets where a party is owned elsewhere (it ended or its owner moved). */
  forgetOwner(id: string): void;
  /** Renews every lease this process holds, and lets go of the parties whose lease another took. */
  renewLeases(): Promise<void>;
  /** Claims the listed parties nobody owns, so an idle party still ends after its quiet period. */
  claimUnowned(): Promise<void>;
  /** A party that ended: its record goes first, then the lease, and it is never claimed again meanwhile. */
  retire(id: string, inviteCode: string): Promise<void>;
  /** No more claims from now on. */
  close(): void;
  /** On shutdown: stops acting on every party and releases the leases; returns their ids. */
  handOver(): Promise<string[]>;
}

export interface PartyOwnershipOptions<Ops extends OpTable> {
  cluster: PartyCluster | undefined;
  persistence: Pick<PartyPersistence, 'hasRecord' | 'readRecord' | 'unlist' | 'flush' | 'listed' | 'committed'>;
  log: Logger;
  /** This process in the cluster ('local' without one). */
  self: string;
  ownerLeaseMs: number;
  requestTimeoutMs: number;
  /** The owner side's op table. */
  ops: () => Ops;
  /** The ops whose answer waits until what they changed is on disk (owner.ts ACKNOWLEDGED_OPS). */
  acknowledged: ReadonlySet<string>;
  /** Becomes the owner of a stored party: after a restart, or taking it over from a process that died. */
  adopt: (stored: StoredParty, leaseUntil: number) => void;
}

export function createPartyOwnership<Ops extends OpTable>(options: PartyOwnershipOptions<Ops>): PartyOwnership<Ops> {
  const { cluster, persistence, log, self, ownerLeaseMs, requestTimeoutMs } = options;
  const owned = new Map<string, Owned>();
  const codes = new Map<string, string>();
  const adopting = new Map<string, Promise<boolean>>();
  /** The other process that owns a party, as last looked up. */
  const owners = new Map<string, string>();
  /** Parties this process ended whose record is still being removed: never to be taken over. */
  const ended = new Set<string>();
  let closed = false;

  const run = (party: Owned, op: string, args: unknown[]): unknown =>
    (options.ops()[op] as (party: Owned, ...rest: unknown[]) => unknown)(party, ...args);

  function ownedNow(id: string): Owned | undefined {
    const party = owned.get(id);
    if (!party || performance.now() < party.leaseUntil) return party;
    log.warn({ partyId: id }, 'watch party lease ran out before it was renewed; letting the party go');
    disown(party);
    return undefined;
  }

  function disown(party: Owned): void {
    for (const timer of party.leaveTimers.values()) clearTimeout(timer);
    party.leaveTimers.clear();
    clearTimeout(party.tickTimer);
    owned.delete(party.room.id);
    codes.delete(party.room.inviteCode);
  }

  function claim(id: string): Promise<boolean> {
    if (owned.has(id)) return Promise.resolve(true);
    if (!cluster || closed || ended.has(id)) return Promise.resolve(false);
    const running = adopting.get(id);
    if (running) return running;
    const attempt = (async () => {
      if (!(await persistence.hasRecord(id))) {
        await persistence.unlist(id);
        return false;
      }
      const asked = performance.now();
      if (!(await cluster.claim(id, ownerLeaseMs))) return false;
      // Read now that nobody else can write it: the owner before may have written it just now.
      const latest = await persistence.readRecord(id);
      if (!latest || closed) {
        await cluster.release(id);
        return false;
      }
      options.adopt(latest, asked + ownerLeaseMs);
      log.info({ partyId: id }, 'watch party taken over');
      return true;
    })().finally(() => adopting.delete(id));
    adopting.set(id, attempt);
    return attempt;
  }

  /** Which process owns a party: this one, another, or null when the party does not exist. */
  async function ownerOf(id: string): Promise<string | null> {
    if (owned.has(id)) return self;
    if (!cluster) return null;
    const known = owners.get(id);
    if (known) return known;
    const holder = await cluster.owner(id);
    if (holder && holder !== self) {
      // Remembered until a request to it fails or the party moves, to spare a lookup per command.
      if (owners.size >= 10_000) owners.clear();
      owners.set(id, holder);
      return holder;
    }
    if (await claim(id)) return self;
    return cluster.owner(id);
  }

  // Another process's request: run it if this process owns the party, else say so (it moved).
  cluster?.serve(async (request) => {
    const party = ownedNow(request.partyId);
    if (!party || !(request.op in options.ops())) {
      throw new PartyError(409, 'NOT_OWNER', 'this process does not own the party');
    }
    const value = run(party, request.op, request.args);
    if (options.acknowledged.has(request.op)) await persistence.committed(request.partyId);
    return value;
  });

  return {
    async call<K extends keyof Ops & string>(
      partyId: string,
      op: K,
      ...args: OpArgs<Ops, K>
    ): Promise<Awaited<ReturnType<Ops[K]>>> {
      type Result = Awaited<ReturnType<Ops[K]>>;
      const id = partyId.toLowerCase();
      if (!isPartyId(id)) throw notFound();
      // Made at the first remote attempt (a local call needs none), then the same for every retry.
      let requestId: string | undefined;
      for (let attempt = 0; ; attempt++) {
        const party = ownedNow(id);
        if (party) {
          const value = run(party, op, args) as Result;
          // What an op changed is on disk before anyone is told it happened.
          if (options.acknowledged.has(op)) await persistence.committed(id);
          return value;
        }
        const holder = attempt > 3 ? null : await ownerOf(id);
        if (holder === null || !cluster) throw notFound();
        if (holder === self) continue;
        try {
          return (await cluster.request(
            holder,
            { op, partyId: id, args },
            requestTimeoutMs,
            (requestId ??= randomUUID()),
          )) as Result;
        } catch (error) {
          if (!(error instanceof ClusterError)) throw error;
          const failure = error.failure;
          if (failure && failure.code !== 'NOT_OWNER') {
            // The owner's own PartyError, rebuilt here.
            throw new PartyError(
              failure.status,
              failure.code as PartyErrorCode,
              failure.message,
              failure.retryAfterSeconds,
            );
          }
          // The owner moved or died; its lease says where the party is now (or expires, and we take it).
          owners.delete(id);
          if (attempt >= 2) {
            throw new PartyError(
              503,
              'PARTY_UNAVAILABLE',
              'the party is moving to another server: try again shortly',
              2,
            );
          }
          await sleep(100 * (attempt + 1));
        }
      }
    },

    runLocal(partyId, op, ...args) {
      const party = ownedNow(partyId);
      return party ? { value: run(party, op, args) as ReturnType<Ops[typeof op]> } : undefined;
    },

    get: (id) => owned.get(id),
    ownedNow,
    parties: () => [...owned.values()],
    entryOfCode(code) {
      const id = codes.get(code);
      const party = id === undefined ? undefined : owned.get(id);
      return party && { id: party.room.id, visibility: party.room.visibility };
    },

    async claimNew(id) {
      const asked = performance.now();
      if (cluster && !(await cluster.claim(id, ownerLeaseMs))) {
        throw new Error('could not take the lease of a new party');
      }
      return cluster ? asked + ownerLeaseMs : Number.POSITIVE_INFINITY;
    },

    own(room, chat, leaseUntil) {
      const party: Owned = {
        room,
        chat,
        leaveTimers: new Map(),
        tickTimer: undefined,
        emptySince: null,
        remote: new Map(),
        leaseUntil,
      };
      owned.set(room.id, party);
      codes.set(room.inviteCode, room.id);
      return party;
    },

    disown,
    claim,
    forgetOwner: (id) => void owners.delete(id),

    async renewLeases() {
      if (!cluster || closed) return;
      for (const party of [...owned.values()]) {
        const asked = performance.now();
        if (await cluster.claim(party.room.id, ownerLeaseMs)) {
          party.leaseUntil = asked + ownerLeaseMs;
          // Renewed only after it ran out here (Redis answered late): let go of the lease too, so that
          // the next call takes the party properly, from the store, here or elsewhere.
          const id = party.room.id;
          if (owned.get(id) !== party && !owned.has(id) && !adopting.has(id)) await cluster.release(id);
          continue;
        }
        // Another process holds it now (this one stalled past the lease): stop acting on it.
        if (owned.get(party.room.id) !== party) continue;
        log.warn({ partyId: party.room.id }, 'watch party lease lost; another process owns it now');
        disown(party);
      }
    },

    async claimUnowned() {
      for (const id of await persistence.listed()) await ownerOf(id);
    },

    retire(id, inviteCode) {
      ended.add(id);
      // The record goes first, then the lease: nobody can take over a party that has ended.
      return persistence
        .flush()
        .then(() => Promise.all([persistence.unlist(id, inviteCode), cluster?.release(id)]))
        .then(() => undefined)
        .finally(() => ended.delete(id));
    },

    close() {
      closed = true;
    },

    async handOver() {
      const mine = [...owned.values()];
      for (const party of mine) disown(party);
      // Released now rather than when the leases run out, so another process takes them at once.
      if (cluster) await Promise.allSettled(mine.map((party) => cluster.release(party.room.id)));
      return mine.map((party) => party.room.id);
    },
  };
}
