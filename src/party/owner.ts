// The owner side of a watch party: the process that owns a party (ownership.ts) holds its room and
// applies every change to it through the op table below, in order, so capacity, roles and `seq`
// hold however many processes serve its sockets. Here too: who is present (a user whose last
// socket closed leaves after a grace period), the room's deadlines (a capped hold), and ending a
// party, by its host or after a quiet period. Frames go out through `publish` (sockets.ts); each
// change is persisted (persistence.ts). room.ts stays pure: this is where its clock and timers are.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { cleanText } from '../text.js';
import { PartyChat, wire, type ChatRecord, type ChatRefusal, type ChatResult } from './chat.js';
import { notFound, PartyError, roomFailure } from './errors.js';
import type { ClipSource, MediaResolver } from './media.js';
import type { OpTable, Owned, PartyOwnership } from './ownership.js';
import type { PartyPersistence, StoredParty } from './persistence.js';
import type {
  ChatCommand,
  ChatMessage,
  ChatSetting,
  ClipInfo,
  ParticipantView,
  PartyCommand,
  PartyDetail,
  PlaybackFields,
  Role,
  ServerMessage,
  ServerMessageOf,
  Visibility,
} from './protocol.js';
import { isChatCommand } from './protocol.js';
import {
  clipInfo,
  PartyRoom,
  type Clip,
  type CommandLimits,
  type Entrant,
  type JoiningUser,
  type RoomResult,
} from './room.js';
import type { StallClock } from './stallClock.js';
import { partyStrings } from './strings.js';

/** Tags of the messages on a party's channel (and of local delivery): a frame, the end, a kick, a move. */
export const FRAME = 'F';
export const ENDED = 'E';
export const KICK = 'K';
/** A member a host or co-host removed: their sockets close with REMOVED_CLOSE_CODE. */
export const REMOVE = 'R';
export const MOVED = 'M';
/** The close code of a removed member's sockets: the page says so and does not reconnect. */
export const REMOVED_CLOSE_CODE = 4003;

const MAX_NAME = 32;

/** A display name as people may see it (src/text.ts says what goes). */
export function cleanName(name: string): string {
  return cleanText(name, MAX_NAME);
}

/** Who has sockets somewhere, as far as the owner needs to know. */
export type UserSet = Pick<ReadonlySet<string>, 'has' | 'size'>;

export interface PartyOwnerOptions {
  ownership: Pick<PartyOwnership<OpTable>, 'get' | 'ownedNow' | 'parties' | 'own' | 'disown' | 'retire'>;
  persistence: Pick<PartyPersistence, 'markDirty' | 'markChatDirty' | 'markDeleted' | 'flush'>;
  media: Pick<MediaResolver, 'playable' | 'liveWindow'>;
  log: Logger;
  now: () => number;
  /** This process in the cluster ('local' without one). */
  self: string;
  publicUrl: string;
  commandLimits: CommandLimits;
  graceMs: number;
  joinHoldMs: number;
  quietEndMs: number;
  /** How often the playlist of each live clip now playing is read. */
  liveRefreshMs: number;
  /** Users another process reported are let go when it has not reported them for this long. */
  ownerLeaseMs: number;
  /** How long the loop was just held up: a backlog read after it is forgiven (stallClock.ts). */
  stalls: Pick<StallClock, 'stallMs'>;
  /** The users with sockets on this process in a party (sockets.ts). */
  localUsers: (partyId: string) => UserSet;
  /** A message for everyone in a party: this process's sockets now, the other processes' through the channel (sockets.ts). */
  publish: (partyId: string, message: string) => void;
  ended: (info: { party: PartyDetail; reason: 'host' | 'idle' }) => void;
  /** A message was written on the page, or one was deleted: the Discord thread bridge mirrors it. */
  chatChanged: (change: ChatChange) => void;
}

/** What the Discord side of a party's chat hears of: written on the page, or deleted there. */
export type ChatChange =
  { kind: 'message'; partyId: string; message: ChatRecord } | { kind: 'deleted'; partyId: string; message: ChatRecord };

const CHAT_STATUS = {
  INVALID_INPUT: 400,
  CHAT_NOT_ALLOWED: 403,
  NOT_ALLOWED: 403,
  UNKNOWN_MESSAGE: 404,
  CHAT_RATE_LIMITED: 429,
} as const satisfies Record<ChatRefusal['code'], number>;

/** Someone from the party's Discord thread, who may not be in the party. */
export interface DiscordAuthor {
  id: string;
  name: string;
  avatarUrl: string | null;
}

export type PartyOps = ReturnType<typeof createPartyOwner>['ops'];

/**
 * The ops whose answer tells the caller that a change was made (a REST or Discord command, a clip, a
 * role, a removal, a departure, a join, the end): their answer goes out once the change is on disk.
 * A socket's `message` is not among them (its frames went out already, and its timeline is written
 * within 50 ms with the others'), nor are the ops that only read.
 */
export const ACKNOWLEDGED_OPS: ReadonlySet<keyof PartyOps> = new Set<keyof PartyOps>([
  'command',
  'addClip',
  'setRole',
  'remove',
  'leave',
  'join',
  'end',
  'postChat',
  'deleteChat',
  'setChat',
]);

export function createPartyOwner(options: PartyOwnerOptions) {
  const { ownership, persistence, media, log, now, self, graceMs, joinHoldMs, quietEndMs, localUsers, publish } =
    options;
  let closed = false;

  /** Becomes the owner of a stored party: after a restart, or taking it over from a process that died. */
  function adopt({ record, chat }: StoredParty, leaseUntil: number): Owned {
    const room = PartyRoom.fromRecord(record, options.publicUrl, options.commandLimits);
    const party = ownership.own(room, new PartyChat(room.id, chat), leaseUntil);
    // Whoever was there gets time to reconnect (or, with a cluster, for their process to report them).
    for (const member of party.room.presentMembers()) {
      if (!hasSockets(party, member.userId)) scheduleLeave(party, member.userId, joinHoldMs);
    }
    scheduleTick(party);
    return party;
  }

  /** Sends a room change's events (`all` to everyone; `actor` ones are returned for the caller). */
  function dispatch(party: Owned, result: RoomResult): ServerMessage[] {
    if (!result.ok) return [];
    const forActor: ServerMessage[] = [];
    for (const event of result.events) {
      if (event.to === 'all') publish(party.room.id, FRAME + JSON.stringify(event.message));
      else forActor.push(event.message);
    }
    if (result.changed) persistence.markDirty(party.room.id);
    scheduleTick(party);
    return forActor;
  }

  /** Keeps one timer per room at its next deadline, so a capped hold ends even if nobody acts. */
  function scheduleTick(party: Owned): void {
    clearTimeout(party.tickTimer);
    party.tickTimer = undefined;
    const due = party.room.nextDeadline();
    if (due === null || closed || ownership.get(party.room.id) !== party) return;
    party.tickTimer = setTimeout(
      () => {
        if (ownership.ownedNow(party.room.id) === party) dispatch(party, party.room.tick(now()));
      },
      Math.max(0, due - now()),
    );
    party.tickTimer.unref();
  }

  // Presence: who is there, and who leaves after a grace period.

  function hasSockets(party: Owned, userId: string): boolean {
    if (localUsers(party.room.id).has(userId)) return true;
    for (const entry of party.remote.values()) if (entry.users.has(userId)) return true;
    return false;
  }

  /** A user's last socket somewhere closed: they leave unless they come back within the grace period. */
  function noteGone(party: Owned, userId: string): void {
    if (!hasSockets(party, userId) && party.room.member(userId)?.present) scheduleLeave(party, userId, graceMs);
  }

  function scheduleLeave(party: Owned, userId: string, afterMs: number): void {
    clearTimeout(party.leaveTimers.get(userId));
    const timer = setTimeout(() => {
      party.leaveTimers.delete(userId);
      if (ownership.ownedNow(party.room.id) !== party || hasSockets(party, userId)) return;
      dispatch(party, party.room.leave(userId, now()));
    }, afterMs);
    timer.unref();
    party.leaveTimers.set(userId, timer);
  }

  function cancelLeave(party: Owned, userId: string): void {
    clearTimeout(party.leaveTimers.get(userId));
    party.leaveTimers.delete(userId);
  }

  /** Scope and privacy rules for becoming present in a party. */
  function assertMayJoin(party: Owned, user: { guest: boolean; id: string }, tokenPartyId: string | null): void {
    if (tokenPartyId !== null && tokenPartyId !== party.room.id) {
      throw new PartyError(403, 'FORBIDDEN', 'this token is for another party');
    }
    if (user.guest && (party.room.visibility !== 'public' || tokenPartyId !== party.room.id)) {
      throw new PartyError(403, 'FORBIDDEN', 'guests can only join the public party they were invited to');
    }
  }

  function joinRoom(party: Owned, user: JoiningUser): void {
    const joining: JoiningUser = { ...user, name: cleanName(user.name) || partyStrings.guestName };
    const result = party.room.join(joining, now(), randomUUID);
    if (!result.ok) throw roomFailure(result.error);
    dispatch(party, result);
  }

  /** Makes a user present; without a socket anywhere they are held for joinHoldMs, then leave. */
  function makePresent(party: Owned, user: JoiningUser): void {
    joinRoom(party, user);
    if (!hasSockets(party, user.id) && !party.leaveTimers.has(user.id)) scheduleLeave(party, user.id, joinHoldMs);
    party.emptySince = null;
  }

  // Chat (chat.ts): frames go out at once, the log is written within persistDelayMs (before the
  // answer, for REST), and the Discord thread bridge hears of what the page wrote and what was deleted.

  function chatAuthor(party: Owned, userId: string) {
    const member = party.room.member(userId);
    if (!member?.present) throw new PartyError(403, 'NOT_PARTICIPANT', 'join the party first');
    return { userId, name: member.displayName, avatarUrl: member.avatarUrl, guest: member.guest, role: member.role };
  }

  function chatted(party: Owned, result: ChatResult<ChatRecord>): ChatRecord {
    if (!result.ok) throw new PartyError(CHAT_STATUS[result.error.code], result.error.code, result.error.message);
    persistence.markChatDirty(party.room.id);
    return result.value;
  }

  function postFromPage(party: Owned, userId: string, text: string): ChatMessage {
    const author = chatAuthor(party, userId);
    const record = chatted(
      party,
      party.chat.post(author, text, party.room.chatSetting, now(), randomUUID(), { source: 'web' }),
    );
    options.chatChanged({ kind: 'message', partyId: party.room.id, message: record });
    return shown(party, record);
  }

  function deleteMessage(party: Owned, userId: string, messageId: string): null {
    const role = party.room.member(userId)?.role ?? null;
    const record = chatted(party, party.chat.delete({ userId, role }, messageId));
    gone(party, record);
    options.chatChanged({ kind: 'deleted', partyId: party.room.id, message: record });
    return null;
  }

  /** A message for every page. */
  function shown(party: Owned, record: ChatRecord): ChatMessage {
    const message = wire(record);
    publish(party.room.id, FRAME + JSON.stringify({ type: 'chat_message', chat_message: message }));
    return message;
  }

  /** A message off every page. */
  function gone(party: Owned, record: ChatRecord): void {
    publish(party.room.id, FRAME + JSON.stringify({ type: 'chat_deleted', message_id: record.id }));
  }

  const chatHistoryMessage = (party: Owned): ServerMessageOf<'chat_history'> => ({
    type: 'chat_history',
    messages: party.chat.history(),
    chat: party.room.chatSetting,
  });

  function chatMessage(party: Owned, userId: string, command: ChatCommand): void {
    if (command.type === 'chat') postFromPage(party, userId, command.message);
    else if (command.type === 'chat_delete') deleteMessage(party, userId, command.message_id);
    else {
      const member = party.room.member(userId);
      // Someone the setting keeps silent has nothing to type; nobody's false is refused.
      if (!member?.present || (command.is_typing && !PartyChat.mayTalk(party.room.chatSetting, member))) return;
      if (!party.chat.typing(userId, command.is_typing, now())) return;
      const typing = {
        type: 'typing',
        user_id: userId,
        display_name: member.displayName,
        is_typing: command.is_typing,
      };
      publish(party.room.id, FRAME + JSON.stringify(typing));
    }
  }

  // Ending: by the host, or after a quiet period with nobody there.

  function endParty(party: Owned, result: RoomResult, reason: 'host' | 'idle'): void {
    dispatch(party, result);
    publish(party.room.id, ENDED);
    const detail = party.room.detail(now());
    ownership.disown(party);
    persistence.markDeleted(party.room.id);
    ownership
      .retire(party.room.id, party.room.inviteCode)
      .catch((error: unknown) => log.warn({ err: error, partyId: party.room.id }, 'could not unlist an ended party'));
    log.info({ partyId: party.room.id, reason }, 'watch party ended');
    options.ended({ party: detail, reason });
  }

  const sweepEveryMs = Math.max(10, Math.min(60_000, Math.floor(quietEndMs / 2)));
  const sweeper = setInterval(() => {
    const at = now();
    for (const party of ownership.parties()) {
      const anyone =
        party.room.presentMembers().length > 0 ||
        localUsers(party.room.id).size > 0 ||
        [...party.remote.values()].some((entry) => entry.users.size > 0);
      if (anyone) {
        party.emptySince = null;
        continue;
      }
      party.emptySince ??= at;
      if (at - party.emptySince >= quietEndMs) {
        endParty(party, party.room.end(null, at), 'idle');
        void persistence.flush().catch((error: unknown) => log.error({ err: error }, 'party persist failed'));
      }
    }
  }, sweepEveryMs);
  sweeper.unref();

  // A live clip's window slides on by itself in the room; reading the playlist now and then catches
  // a stream that stalled or restarted, so the live point stays where players can load it.
  const reading = new Set<string>();
  const liveReader = setInterval(() => {
    for (const party of ownership.parties()) {
      const clip = party.room.currentClip();
      const id = party.room.id;
      if (!clip?.live || reading.has(id)) continue;
      reading.add(id);
      media
        .liveWindow(clip.source)
        .then((window) => {
          if (window && ownership.ownedNow(id) === party) {
            dispatch(party, party.room.updateLiveWindow(clip.id, window, now()));
          }
        })
        .catch((error: unknown) =>
          log.warn({ partyId: id, clipId: clip.id, err: error }, 'could not read the live playlist'),
        )
        .finally(() => reading.delete(id));
    }
  }, options.liveRefreshMs);
  liveReader.unref();

  function prefetchCurrent(party: Owned): void {
    const clip = party.room.currentClip();
    if (!clip) return;
    media.playable(clip.source).catch((error: unknown) => {
      log.warn({ partyId: party.room.id, clipId: clip.id, err: error }, 'could not resolve the clip now playing');
    });
  }

  // Ops: everything that reads or changes a room, run by the party's owner. Arguments and results
  // are plain JSON, because with a cluster they travel between processes.

  const ops = {
    detail: (party: Owned): PartyDetail => party.room.detail(now()),

    /** A party as someone may see it: a private one only for whom it admits (else it does not exist). */
    view(party: Owned, entrant: Entrant | null): PartyDetail {
      // Someone removed knows the party: they are told why they cannot come back.
      if (entrant && party.room.isRemoved(entrant.userId)) {
        throw new PartyError(403, 'REMOVED', 'the host removed you from this party');
      }
      if (party.room.visibility === 'private' && !(entrant && party.room.admits(entrant))) throw notFound();
      return party.room.detail(now());
    },

    roleOf: (party: Owned, userId: string): Role | null => party.room.member(userId)?.role ?? null,

    /** Before a clip is looked up: the actor may add one, within their command budget. */
    mayAddClip(party: Owned, userId: string): null {
      const refused = party.room.mayAddClip(userId, now());
      if (refused) throw roomFailure(refused);
      return null;
    },

    /** `tokenPartyId` undefined: the caller checked the scope (guest links). */
    join(
      party: Owned,
      user: JoiningUser,
      tokenPartyId?: string | null,
    ): { detail: PartyDetail; role: Role; visibility: Visibility } {
      if (tokenPartyId !== undefined) assertMayJoin(party, user, tokenPartyId);
      makePresent(party, user);
      return {
        detail: party.room.detail(now()),
        role: party.room.member(user.id)?.role ?? 'viewer',
        visibility: party.room.visibility,
      };
    },

    /** Someone leaves on purpose: in a private party, the tokens they hold stop letting them in. */
    leave(party: Owned, userId: string): null {
      const member = party.room.member(userId);
      if (!member?.present) throw new PartyError(403, 'NOT_PARTICIPANT', 'you are not in this party');
      cancelLeave(party, userId);
      for (const entry of party.remote.values()) entry.users.delete(userId);
      if (party.room.visibility === 'private' && !member.guest) party.room.revoke(userId, now());
      dispatch(party, party.room.leave(userId, now()));
      publish(party.room.id, KICK + userId);
      return null;
    },

    /** A host or co-host takes someone out: their sockets close, and they cannot come back. */
    remove(party: Owned, actorUserId: string, targetUserId: string): null {
      const result = party.room.remove(actorUserId, targetUserId, now());
      if (!result.ok) throw roomFailure(result.error);
      cancelLeave(party, targetUserId);
      for (const entry of party.remote.values()) entry.users.delete(targetUserId);
      dispatch(party, result);
      publish(party.room.id, REMOVE + targetUserId);
      log.info({ partyId: party.room.id, actorUserId, targetUserId }, 'watch party member removed');
      return null;
    },

    command(party: Owned, actorUserId: string, command: PartyCommand): PlaybackFields {
      const result = party.room.applyCommand(actorUserId, command, now());
      if (!result.ok) throw roomFailure(result.error);
      dispatch(party, result);
      if (command.type === 'skip') prefetchCurrent(party);
      return party.room.playback(now(), actorUserId);
    },

    /** A socket's message: refusals and `actor` events come back for that socket. */
    message(party: Owned, userId: string, command: PartyCommand | ChatCommand): ServerMessage[] {
      if (isChatCommand(command)) {
        try {
          chatMessage(party, userId, command);
          return [];
        } catch (error) {
          if (!(error instanceof PartyError)) throw error;
          return [{ type: 'error', code: error.code, message: error.message, request_type: command.type }];
        }
      }
      const result = party.room.applyCommand(userId, command, now(), options.stalls.stallMs());
      if (!result.ok) {
        return [{ type: 'error', code: result.error.code, message: result.error.message, request_type: command.type }];
      }
      const forActor = dispatch(party, result);
      if (command.type === 'skip') prefetchCurrent(party);
      return forActor;
    },

    addClip(party: Owned, actorUserId: string, clip: Clip): { clip: ClipInfo; queue: ClipInfo[] } {
      const result = party.room.addClip(actorUserId, clip, now());
      if (!result.ok) throw roomFailure(result.error);
      dispatch(party, result);
      return { clip: clipInfo(clip), queue: party.room.detail(now()).queue };
    },

    setRole(party: Owned, actorUserId: string, targetUserId: string, role: 'co-host' | 'viewer'): ParticipantView {
      const result = party.room.setRole(actorUserId, targetUserId, role, now());
      if (!result.ok) throw roomFailure(result.error);
      dispatch(party, result);
      const view = party.room.participantViews().find((participant) => participant.user_id === targetUserId);
      if (view) return view;
      // Someone who is away is not in the participant list; describe them from their membership.
      const member = party.room.member(targetUserId);
      return {
        id: member?.participantId ?? targetUserId,
        user_id: targetUserId,
        role,
        joined_at: new Date(member?.joinedAt ?? now()).toISOString(),
        guest: member?.guest ?? false,
        user: {
          username: member?.displayName ?? targetUserId,
          display_name: member?.displayName ?? targetUserId,
          avatar_url: member?.avatarUrl ?? null,
        },
      };
    },

    /** The kept messages, oldest first, for a member. */
    chatHistory(party: Owned, userId: string): { messages: ChatMessage[]; chat: ChatSetting } {
      chatAuthor(party, userId);
      return { messages: party.chat.history(), chat: party.room.chatSetting };
    },

    postChat: (party: Owned, userId: string, text: string): ChatMessage => postFromPage(party, userId, text),

    deleteChat: (party: Owned, userId: string, messageId: string): null => deleteMessage(party, userId, messageId),

    setChat(party: Owned, actorUserId: string, chat: ChatSetting): PartyDetail {
      const result = party.room.setChatSetting(actorUserId, chat);
      if (!result.ok) throw roomFailure(result.error);
      dispatch(party, result);
      return party.room.detail(now());
    },

    /** A message written in the party's Discord thread (the bridge read it): shown on the pages, unless chat is off. */
    discordChat(party: Owned, author: DiscordAuthor, text: string, discordMessageId: string): ChatMessage | null {
      const result = party.chat.post(
        {
          userId: author.id,
          name: cleanName(author.name) || partyStrings.guestName,
          avatarUrl: author.avatarUrl,
          guest: false,
        },
        text,
        party.room.chatSetting,
        now(),
        randomUUID(),
        { source: 'discord', discordMessageId },
      );
      // Refused (chat is off): it stays in Discord only.
      return result.ok ? shown(party, chatted(party, result)) : null;
    },

    /** A message deleted in the thread: gone from the pages (whether it was written there or here). */
    discordDeleted(party: Owned, discordMessageId: string): null {
      const found = party.chat.byDiscordId(discordMessageId);
      if (!found) return null;
      const result = party.chat.delete({ userId: found.user_id, role: 'host' }, found.id);
      // Gone in Discord already: nothing for the bridge to do.
      if (result.ok) gone(party, chatted(party, result));
      return null;
    },

    /** The bridge posted a page's message in the thread; false when it was deleted meanwhile (the copy must go too). */
    linkDiscord(party: Owned, messageId: string, discordMessageId: string): boolean {
      const linked = party.chat.linkDiscord(messageId, discordMessageId);
      if (linked) persistence.markChatDirty(party.room.id);
      return linked;
    },

    end(party: Owned, actorUserId: string): null {
      const result = party.room.end(actorUserId, now());
      if (!result.ok) throw roomFailure(result.error);
      endParty(party, result, 'host');
      return null;
    },

    clipSource(party: Owned, userId: string, clipId?: string): { clipId: string; source: ClipSource } {
      if (!party.room.member(userId)) throw new PartyError(403, 'NOT_PARTICIPANT', 'join the party first');
      const clip = clipId === undefined ? party.room.currentClip() : party.room.clip(clipId);
      if (!clip) {
        throw clipId === undefined
          ? new PartyError(409, 'EMPTY_QUEUE', 'nothing is playing')
          : new PartyError(404, 'UNKNOWN_CLIP', 'no such clip in the queue');
      }
      return { clipId: clip.id, source: clip.source };
    },

    admit(party: Owned, user: JoiningUser, entrant: Entrant): null {
      // A private party's id alone is not an invitation: the user must be present, or hold a token the
      // bot scoped to this party and not have left since. To anyone else it does not exist.
      if (party.room.visibility === 'private') {
        const scoped = entrant.tokenPartyId === null || entrant.tokenPartyId === party.room.id;
        if (user.guest || !scoped || !party.room.admits(entrant)) throw notFound();
      }
      assertMayJoin(party, user, entrant.tokenPartyId);
      if (party.room.isRemoved(user.id, user.addressKey)) {
        throw new PartyError(403, 'REMOVED', 'the host removed you from this party');
      }
      makePresent(party, user);
      return null;
    },

    /** A socket opened on process `instanceId`: the user is there, and the socket gets the state, then the chat. */
    attach(
      party: Owned,
      user: JoiningUser,
      instanceId: string,
    ): [ServerMessageOf<'state'>, ServerMessageOf<'chat_history'>] {
      if (instanceId !== self) remoteOf(party, instanceId).users.add(user.id);
      cancelLeave(party, user.id);
      if (!party.room.member(user.id)?.present) {
        // The hold expired between admission and upgrade; joining again keeps the rules in one place.
        joinRoom(party, user);
      }
      party.emptySince = null;
      return [party.room.stateMessage(user.id, now()), chatHistoryMessage(party)];
    },

    snapshot: (party: Owned, userId: string): ServerMessage[] => [
      party.room.stateMessage(userId, now()),
      chatHistoryMessage(party),
      party.room.syncMessage(now()),
    ],

    /** The user's last socket on this process (the owner's own) closed; other processes report with `presence`. */
    lastSocketClosed(party: Owned, userId: string): null {
      noteGone(party, userId);
      return null;
    },

    /** Process `instanceId` reports who has sockets there: everyone (`all`), or who just went (`gone`). */
    presence(party: Owned, instanceId: string, all: string[] | null, gone: string[]): null {
      const entry = remoteOf(party, instanceId);
      const before = new Set(entry.users);
      if (all) entry.users = new Set(all);
      for (const userId of gone) entry.users.delete(userId);
      for (const userId of entry.users) cancelLeave(party, userId);
      for (const userId of before) if (!entry.users.has(userId)) noteGone(party, userId);
      return null;
    },
  };

  function remoteOf(party: Owned, instanceId: string): { users: Set<string>; seenAt: number } {
    const entry = party.remote.get(instanceId) ?? { users: new Set<string>(), seenAt: now() };
    entry.seenAt = now();
    party.remote.set(instanceId, entry);
    return entry;
  }

  /** Lets go of users whose process stopped reporting them for a lease (it died, or lost Redis). */
  function forgetUnreported(): void {
    const at = now();
    for (const party of ownership.parties()) {
      for (const [instanceId, entry] of party.remote) {
        if (at - entry.seenAt > options.ownerLeaseMs) {
          party.remote.delete(instanceId);
          for (const userId of entry.users) noteGone(party, userId);
        }
      }
    }
  }

  return {
    ops,
    adopt,
    /** A party just created here: its host is held for joinHoldMs, until their player connects. */
    host(room: PartyRoom, leaseUntil: number): Owned {
      const party = ownership.own(room, new PartyChat(room.id), leaseUntil);
      scheduleLeave(party, room.hostUserId, joinHoldMs);
      return party;
    },
    forgetUnreported,
    close(): void {
      closed = true;
      clearInterval(sweeper);
      clearInterval(liveReader);
    },
  };
}
