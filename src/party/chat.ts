// A watch party's chat: the last messages (what a joining page is shown), who may talk under the
// party's `chat` setting, a budget per person, deletes, and the typing indicator's throttle. Pure, like
// room.ts, with the clock passed in: the owner (owner.ts) does the sending and persisting, and the
// Discord thread bridge (discord/partyThreads.ts) mirrors it. Text only: a message is cleaned of
// control, bidi and zero-width characters, and nothing here or in the page ever treats it as HTML.
import { cleanText } from '../text.js';
import type { ChatMessage, ChatSetting, Role } from './protocol.js';

/** What a joining page gets, and what is kept. */
export const CHAT_HISTORY = 100;
export const CHAT_MAX_LENGTH = 500;
/** Each person may send this many at once, then one more each CHAT_REFILL_MS. */
export const CHAT_BURST = 5;
export const CHAT_REFILL_MS = 1000;
/** A person's `typing: true` is relayed at most this often; the pages let it expire by themselves. */
export const TYPING_RELAY_MS = 2000;

/** A message as kept: the wire form, and where its copy in the party's Discord thread is. */
export interface ChatRecord extends ChatMessage {
  discord_message_id?: string;
}

export interface ChatAuthor {
  userId: string;
  name: string;
  avatarUrl: string | null;
  /** A guest (joined with a name only): silent when the setting is `members`. */
  guest: boolean;
}

export type ChatRefusal = {
  code: 'CHAT_RATE_LIMITED' | 'CHAT_NOT_ALLOWED' | 'INVALID_INPUT' | 'NOT_ALLOWED' | 'UNKNOWN_MESSAGE';
  message: string;
};
export type ChatResult<T> = { ok: true; value: T } | { ok: false; error: ChatRefusal };

interface Bucket {
  tokens: number;
  at: number;
}

/** The people a party remembers budgets and typing times for; past it, the idle ones are forgotten. */
const MAX_TRACKED = 500;

export class PartyChat {
  private readonly messages: ChatRecord[];
  private readonly budgets = new Map<string, Bucket>();
  private readonly typingAt = new Map<string, number>();
  private changed = false;

  constructor(
    readonly partyId: string,
    messages: readonly ChatRecord[] = [],
  ) {
    this.messages = messages.slice(-CHAT_HISTORY);
  }

  /** Who may talk under a setting: everyone, members (not guests), or nobody. */
  static mayTalk(setting: ChatSetting, author: Pick<ChatAuthor, 'guest'>): boolean {
    return setting === 'everyone' || (setting === 'members' && !author.guest);
  }

  /**
   * A message from the page (budgeted per person) or from the party's Discord thread (Discord
   * limits its own senders). Lengths count characters (code points), not UTF-16 units; a longer
   * Discord message is cut to CHAT_MAX_LENGTH with an ellipsis, a longer page message refused.
   */
  post(
    author: ChatAuthor,
    text: string,
    setting: ChatSetting,
    now: number,
    id: string,
    from: { source: 'web' } | { source: 'discord'; discordMessageId: string },
  ): ChatResult<ChatRecord> {
    if (!PartyChat.mayTalk(setting, author)) {
      return refuse('CHAT_NOT_ALLOWED', setting === 'off' ? 'chat is off in this party' : 'only members can chat here');
    }
    let message = cleanText(text, Number.POSITIVE_INFINITY);
    const length = [...message].length;
    if (length === 0) return refuse('INVALID_INPUT', 'a message needs some text');
    if (length > CHAT_MAX_LENGTH) {
      if (from.source === 'web') return refuse('INVALID_INPUT', `a message has at most ${CHAT_MAX_LENGTH} characters`);
      message = `${cleanText(message, CHAT_MAX_LENGTH - 1)}…`;
    }
    if (from.source === 'web' && !this.take(author.userId, now)) {
      return refuse('CHAT_RATE_LIMITED', 'slow down: you can send another message in a moment');
    }
    const record: ChatRecord = {
      id,
      watch_party_id: this.partyId,
      user_id: author.userId,
      display_name: author.name,
      avatar_url: author.avatarUrl,
      message,
      created_at: new Date(now).toISOString(),
      source: from.source,
      ...(from.source === 'discord' ? { discord_message_id: from.discordMessageId } : {}),
    };
    this.messages.push(record);
    if (this.messages.length > CHAT_HISTORY) this.messages.splice(0, this.messages.length - CHAT_HISTORY);
    // Whoever sent a message has stopped typing it.
    this.typingAt.delete(author.userId);
    this.changed = true;
    return { ok: true, value: record };
  }

  /** Its author may delete a message, and a host or co-host anyone's. Unknown ids: already gone. */
  delete(actor: { userId: string; role: Role | null }, messageId: string): ChatResult<ChatRecord> {
    const index = this.messages.findIndex((message) => message.id === messageId);
    const found = this.messages[index];
    if (!found) return refuse('UNKNOWN_MESSAGE', 'that message is gone');
    const moderates = actor.role === 'host' || actor.role === 'co-host';
    if (found.user_id !== actor.userId && !moderates) {
      return refuse('NOT_ALLOWED', 'only the host and co-hosts can delete other people’s messages');
    }
    this.messages.splice(index, 1);
    this.changed = true;
    return { ok: true, value: found };
  }

  /** The message whose copy in Discord is this one (a delete there removes it here too). */
  byDiscordId(discordMessageId: string): ChatRecord | undefined {
    return this.messages.find((message) => message.discord_message_id === discordMessageId);
  }

  /** The bridge posted a page's message in the thread: remembered, so a delete on either side finds the other. */
  linkDiscord(messageId: string, discordMessageId: string): boolean {
    const found = this.messages.find((message) => message.id === messageId);
    if (!found) return false;
    found.discord_message_id = discordMessageId;
    this.changed = true;
    return true;
  }

  /** Whether this `typing` goes out: `false` always does; `true` at most once per TYPING_RELAY_MS per person. */
  typing(userId: string, isTyping: boolean, now: number): boolean {
    if (!isTyping) return this.typingAt.delete(userId);
    const last = this.typingAt.get(userId);
    if (last !== undefined && now - last < TYPING_RELAY_MS) return false;
    this.typingAt.set(userId, now);
    this.trim(this.typingAt, (at) => now - at >= TYPING_RELAY_MS);
    return true;
  }

  /** The kept messages in the wire form, oldest first. */
  history(): ChatMessage[] {
    return this.messages.map(wire);
  }

  /** What is stored: the messages with their Discord copies. */
  records(): ChatRecord[] {
    return this.messages.map((message) => ({ ...message }));
  }

  /** Something stored changed since the writer last took it. */
  get pending(): boolean {
    return this.changed;
  }

  /** True once after any change to what is stored. */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  private take(userId: string, now: number): boolean {
    const bucket = this.budgets.get(userId) ?? { tokens: CHAT_BURST, at: now };
    bucket.tokens = Math.min(CHAT_BURST, bucket.tokens + (now - bucket.at) / CHAT_REFILL_MS);
    bucket.at = now;
    this.budgets.set(userId, bucket);
    this.trim(this.budgets, (old) => old.tokens + (now - old.at) / CHAT_REFILL_MS >= CHAT_BURST);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Bounded: past MAX_TRACKED, the entries that no longer matter (a full budget, an expired typing) go. */
  private trim<V>(map: Map<string, V>, idle: (value: V) => boolean): void {
    if (map.size <= MAX_TRACKED) return;
    for (const [key, value] of map) if (idle(value)) map.delete(key);
    // Still over (everyone busy at once): the oldest go; a forgotten budget starts full, at most one burst more.
    for (const key of map.keys()) {
      if (map.size <= MAX_TRACKED) break;
      map.delete(key);
    }
  }
}

export function wire(record: ChatRecord): ChatMessage {
  const message: ChatRecord = { ...record };
  delete message.discord_message_id;
  return message;
}

function refuse(code: ChatRefusal['code'], message: string): { ok: false; error: ChatRefusal } {
  return { ok: false, error: { code, message } };
}
