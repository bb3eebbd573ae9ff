// The Discord side of a party's chat: a thread opened on its panel message, where what people write
// on the page is posted by a channel webhook under the writer's name (marked "web", never pinging,
// escaped), and, with PARTY_CHAT_BRIDGE=thread, what members write in the thread shows on the page.
// A delete on either side removes the other copy. When the party ends, the thread gets the end line
// and is archived. Posts go out in order, one party at a time, and a party that talks faster than
// Discord takes is bounded: past MAX_BEHIND waiting posts, the oldest waiting are skipped (logged).
import {
  GatewayDispatchEvents,
  PermissionFlagsBits,
  Routes,
  ThreadAutoArchiveDuration,
  type APIMessage,
  type APIWebhook,
  type Client,
  type GatewayDispatchPayload,
  type PermissionsBitField,
  type REST,
} from 'discord.js';
import { discordRefusal } from '../discord/errors.js';
import { escapeDiscord } from '../discord/format.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { cleanText } from '../text.js';
import type { ChatRecord } from './chat.js';
import type { ChatChange } from './owner.js';
import type { PanelRef } from './panel.js';
import { partyKeys } from './persistence.js';
import type { PartyDetail } from './protocol.js';
import type { PartyService } from './service.js';
import { threadStrings as t } from './strings.js';

/** Where a party's thread is, and the channel webhook that posts into it. */
export interface ThreadRef {
  guildId: string;
  channelId: string;
  threadId: string;
  webhookId: string;
  webhookToken: string;
}

/** What the bot needs in the panel's channel for the thread; the names are what the host is told to grant. */
export const THREAD_PERMISSIONS = [
  { flag: PermissionFlagsBits.CreatePublicThreads, name: 'Create Public Threads' },
  { flag: PermissionFlagsBits.SendMessagesInThreads, name: 'Send Messages in Threads' },
  { flag: PermissionFlagsBits.ManageWebhooks, name: 'Manage Webhooks' },
] as const;

const WEBHOOK_NAME = 'Parti watch party';
/** Posts waiting for Discord per party before the oldest waiting are skipped. */
const MAX_BEHIND = 50;

export interface PartyThreads {
  /**
   * After a panel went up in a server: its thread and the channel's webhook. Resolves with the
   * permissions the bot lacks for them (empty when the thread is open); chat then stays on the page.
   */
  open(detail: PartyDetail, panel: PanelRef, can: Readonly<PermissionsBitField> | null): Promise<string[]>;
  close(): void;
}

export function createPartyThreads(options: {
  store: Store;
  rest: REST;
  client: Client;
  party: PartyService;
  logger: Logger;
  /** Read messages written in the thread (needs the Message Content intent). */
  bridge: boolean;
}): PartyThreads {
  const { store, rest, client, party } = options;
  const log = options.logger.child({ module: 'party-thread' });
  const queues = new Map<string, { running: Promise<void>; waiting: number }>();

  const refOf = (partyId: string) => store.parties.get<ThreadRef>(partyKeys.thread(partyId));

  /** The channel's webhook of this bot, made once and kept. */
  async function webhookFor(channelId: string): Promise<{ id: string; token: string }> {
    const kept = await store.parties.get<{ id: string; token: string }>(partyKeys.webhook(channelId));
    if (kept) return kept;
    const existing = (await rest.get(Routes.channelWebhooks(channelId))) as APIWebhook[];
    const mine = existing.find((hook) => hook.application_id === client.application?.id && hook.token);
    const hook =
      mine ?? ((await rest.post(Routes.channelWebhooks(channelId), { body: { name: WEBHOOK_NAME } })) as APIWebhook);
    const entry = { id: hook.id, token: hook.token! };
    await store.parties.set(partyKeys.webhook(channelId), entry);
    return entry;
  }

  /** Runs a party's posts one after another; a party far behind skips what waits longest. */
  function inOrder(partyId: string, work: () => Promise<void>): void {
    const queue = queues.get(partyId) ?? { running: Promise.resolve(), waiting: 0 };
    queues.set(partyId, queue);
    if (queue.waiting >= MAX_BEHIND) {
      log.warn({ partyId }, 'party thread is behind; a chat message was not mirrored');
      return;
    }
    queue.waiting++;
    queue.running = queue.running
      .then(work)
      .catch((error: unknown) => log.warn({ err: error, partyId }, 'party thread update failed'))
      .finally(() => {
        queue.waiting--;
        if (queue.waiting === 0 && queues.get(partyId) === queue) queues.delete(partyId);
      });
  }

  /** The writer's name as Discord takes it for a webhook post: marked as from the web. */
  function webName(name: string): string {
    const cleaned = cleanText(name, 60)
      .replace(/discord|clyde/gi, '')
      .trim();
    return `${cleaned || t.someone} ${t.webMark}`;
  }

  async function mirror(ref: ThreadRef, message: ChatRecord): Promise<void> {
    const avatar = message.avatar_url && /^https:\/\//.test(message.avatar_url) ? message.avatar_url : undefined;
    const posted = (await rest.post(Routes.webhook(ref.webhookId, ref.webhookToken), {
      body: {
        content: escapeDiscord(message.message, 2000),
        username: webName(message.display_name),
        ...(avatar && { avatar_url: avatar }),
        allowed_mentions: { parse: [] },
      },
      query: new URLSearchParams({ wait: 'true', thread_id: ref.threadId }),
      auth: false,
    })) as APIMessage;
    // Deleted on the page while it was on its way: the copy goes too.
    if (!(await party.linkDiscord(message.watch_party_id, message.id, posted.id))) await unmirror(ref, posted.id, true);
  }

  async function unmirror(ref: ThreadRef, discordMessageId: string, ours: boolean): Promise<void> {
    try {
      if (ours) {
        await rest.delete(Routes.webhookMessage(ref.webhookId, ref.webhookToken, discordMessageId), {
          query: new URLSearchParams({ thread_id: ref.threadId }),
          auth: false,
        });
      } else {
        await rest.delete(Routes.channelMessage(ref.threadId, discordMessageId));
      }
    } catch (error) {
      // Gone already, or a member's message the bot may not delete (Manage Messages): it stays in Discord.
      if (discordRefusal(error)) log.info({ err: error, partyId: ref.threadId }, 'could not delete a thread message');
      else throw error;
    }
  }

  const offChat = party.on('chat', (change: ChatChange) => {
    inOrder(change.partyId, async () => {
      const ref = await refOf(change.partyId);
      if (!ref) return;
      if (change.kind === 'message') await mirror(ref, change.message);
      else if (change.message.discord_message_id) {
        await unmirror(ref, change.message.discord_message_id, change.message.source === 'web');
      }
    });
  });

  const offEnded = party.on('ended', ({ party: detail }) => {
    inOrder(detail.id, async () => {
      const ref = await refOf(detail.id);
      if (!ref) return;
      await store.parties.delete([partyKeys.thread(detail.id), partyKeys.threadParty(ref.threadId)]);
      try {
        await rest.post(Routes.channelMessages(ref.threadId), {
          body: { content: t.ended(detail), allowed_mentions: { parse: [] } },
        });
        await rest.patch(Routes.channel(ref.threadId), { body: { archived: true } });
      } catch (error) {
        if (!discordRefusal(error)) throw error;
        log.info({ err: error, partyId: detail.id }, 'could not close the party thread');
      }
    });
  });

  /** A message or a delete in one of the bot's party threads (raw: nothing needs the message cache). */
  async function onDispatch(packet: GatewayDispatchPayload): Promise<void> {
    if (packet.t !== GatewayDispatchEvents.MessageCreate && packet.t !== GatewayDispatchEvents.MessageDelete) return;
    const channel = client.channels.cache.get(packet.d.channel_id);
    if (!channel?.isThread() || channel.ownerId !== client.user?.id) return;
    const partyId = await store.parties.get<string>(partyKeys.threadParty(channel.id));
    if (!partyId) return;
    if (packet.t === GatewayDispatchEvents.MessageDelete) {
      await party.discordDeleted(partyId, packet.d.id);
      return;
    }
    const message = packet.d;
    if (!options.bridge || message.author.bot || message.webhook_id !== undefined) return;
    const name = message.member?.nick ?? message.author.global_name ?? message.author.username;
    const avatar = message.author.avatar
      ? client.rest.cdn.avatar(message.author.id, message.author.avatar, { size: 64 })
      : null;
    await party.discordChat(partyId, { id: message.author.id, name, avatarUrl: avatar }, message.content, message.id);
  }

  const onRaw = (packet: GatewayDispatchPayload): void => {
    onDispatch(packet).catch((error: unknown) => log.warn({ err: error }, 'party thread message not relayed'));
  };
  client.on('raw', onRaw);

  return {
    async open(detail, panel, can) {
      const missing = THREAD_PERMISSIONS.filter(({ flag }) => !can?.has(flag)).map(({ name }) => name);
      if (missing.length > 0) return missing;
      try {
        const webhook = await webhookFor(panel.channelId);
        const thread = (await rest.post(Routes.threads(panel.channelId, panel.messageId), {
          body: {
            name: cleanText(detail.title, 100) || t.threadName,
            auto_archive_duration: ThreadAutoArchiveDuration.OneDay,
          },
        })) as { id: string };
        const ref: ThreadRef = { ...panel, threadId: thread.id, webhookId: webhook.id, webhookToken: webhook.token };
        await store.parties.set(partyKeys.threadParty(thread.id), detail.id);
        await store.parties.set(partyKeys.thread(detail.id), ref);
        return [];
      } catch (error) {
        const refused = discordRefusal(error);
        if (refused?.refusal !== 'missingPermissions' && refused?.refusal !== 'missingAccess') throw error;
        log.info({ err: error, partyId: detail.id }, 'party thread not opened');
        return THREAD_PERMISSIONS.map(({ name }) => name);
      }
    },
    close() {
      offChat();
      offEnded();
      client.off('raw', onRaw);
    },
  };
}
