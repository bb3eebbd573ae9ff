// Threads and channel webhooks in the fake Discord: a public thread started on a message (its id is
// the message's, as on Discord), the webhooks a bot makes in a channel to post under other names
// (into one of its threads with `thread_id`), and archiving. Checked as Discord checks them: Create
// Public Threads to start one, Manage Webhooks to list or make webhooks, a webhook's name and a
// username without "discord" or "clyde", 1–80 characters.
import { PermissionFlagsBits } from 'discord.js';
import { ApiError, err, FormErrors } from './errors.js';
import { Intent } from './gateway.js';
import type { RouteContext, RouteResult } from './rest.js';
import type { FakeDiscordServer } from './server.js';
import { snowflake } from './snowflake.js';
import type { FakeChannel, FakeUser } from './types.js';
import { validateMessageBody } from './validation.js';

type Json = Record<string, unknown>;

export const PUBLIC_THREAD = 11;

export interface FakeThread extends FakeChannel {
  owner_id: string;
  thread_metadata: { archived: boolean; auto_archive_duration: number; archive_timestamp: string; locked: boolean };
  message_count: number;
  member_count: number;
}

export interface FakeWebhook {
  id: string;
  token: string;
  type: 1;
  channel_id: string;
  guild_id: string;
  application_id: string;
  name: string;
  avatar: null;
  user: FakeUser;
}

const P = PermissionFlagsBits;

export class FakeThreads {
  readonly threads = new Map<string, FakeThread>();
  readonly webhooks = new Map<string, FakeWebhook>();

  constructor(private readonly f: FakeDiscordServer) {}

  isThread(channelId: string): boolean {
    return this.threads.has(channelId);
  }

  /** The threads of a guild nobody archived (what GUILD_CREATE carries). */
  active(guildId: string): FakeThread[] {
    return [...this.threads.values()].filter((t) => t.guild_id === guildId && !t.thread_metadata.archived);
  }

  start(channelId: string, messageId: string, body: Json): FakeThread {
    const parent = this.f.channel(channelId);
    const perms = this.f.botPermissionsIn(parent.id);
    if (!(perms & P.ViewChannel)) throw err.missingAccess();
    if (!(perms & P.CreatePublicThreads)) throw err.missingPermissions();
    this.f.channelMessage(parent.id, messageId);
    if (this.threads.has(messageId)) {
      throw new ApiError(400, 160004, 'A thread has already been created for this message');
    }
    const form = new FormErrors();
    const name = body['name'];
    if (typeof name !== 'string' || name.length < 1 || name.length > 100) {
      form.add(['name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    const duration = body['auto_archive_duration'] ?? 4320;
    if (![60, 1440, 4320, 10080].includes(duration as number)) {
      form.add(['auto_archive_duration'], 'BASE_TYPE_CHOICES', 'Value must be one of (60, 1440, 4320, 10080).');
    }
    form.throwIfAny();
    const thread: FakeThread = {
      id: messageId,
      guild_id: parent.guild_id,
      name: name as string,
      type: PUBLIC_THREAD,
      position: 0,
      // A thread has no overwrites of its own: its parent's apply.
      permission_overwrites: structuredClone(parent.permission_overwrites),
      parent_id: parent.id,
      topic: null,
      nsfw: parent.nsfw,
      rate_limit_per_user: 0,
      last_message_id: null,
      flags: 0,
      owner_id: this.f.botUser.id,
      thread_metadata: {
        archived: false,
        auto_archive_duration: duration as number,
        archive_timestamp: new Date().toISOString(),
        locked: false,
      },
      message_count: 0,
      member_count: 1,
    };
    this.threads.set(thread.id, thread);
    this.f.channels.set(thread.id, thread);
    this.f.gateway.dispatch('THREAD_CREATE', { ...structuredClone(thread), newly_created: true }, Intent.Guilds);
    this.f.changed();
    return thread;
  }

  /** PATCH /channels/:thread: a name, archived, locked. */
  edit(thread: FakeThread, body: Json): FakeThread {
    const perms = this.f.botPermissionsIn(thread.id);
    if (!(perms & P.ViewChannel)) throw err.missingAccess();
    const owner = thread.owner_id === this.f.botUser.id;
    if (!owner && !(perms & P.ManageThreads)) throw err.missingPermissions();
    if (typeof body['name'] === 'string') thread.name = body['name'];
    if (typeof body['archived'] === 'boolean') {
      thread.thread_metadata.archived = body['archived'];
      thread.thread_metadata.archive_timestamp = new Date().toISOString();
    }
    if (typeof body['locked'] === 'boolean') {
      if (!(perms & P.ManageThreads)) throw err.missingPermissions();
      thread.thread_metadata.locked = body['locked'];
    }
    this.f.gateway.dispatch('THREAD_UPDATE', structuredClone(thread), Intent.Guilds);
    this.f.changed();
    return thread;
  }

  list(channelId: string): FakeWebhook[] {
    const channel = this.f.channel(channelId);
    this.requireManageWebhooks(channel);
    return [...this.webhooks.values()].filter((w) => w.channel_id === channel.id);
  }

  create(channelId: string, body: Json): FakeWebhook {
    const channel = this.f.channel(channelId);
    if (this.isThread(channel.id)) throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
    this.requireManageWebhooks(channel);
    const form = new FormErrors();
    checkName(form, ['name'], body['name']);
    form.throwIfAny();
    const webhook: FakeWebhook = {
      id: snowflake(),
      token: `wh-${snowflake()}-${Math.random().toString(36).slice(2)}`,
      type: 1,
      channel_id: channel.id,
      guild_id: channel.guild_id,
      application_id: this.f.applicationId,
      name: body['name'] as string,
      avatar: null,
      user: structuredClone(this.f.botUser),
    };
    this.webhooks.set(webhook.id, webhook);
    this.f.changed();
    return webhook;
  }

  /** POST /webhooks/:id/:token[?wait=true&thread_id=]: a message under the webhook's (or the given) name. */
  execute(webhook: FakeWebhook, body: Json, query: URLSearchParams): RouteResult {
    const form = new FormErrors();
    if (body['username'] !== undefined) checkName(form, ['username'], body['username']);
    form.throwIfAny();
    validateMessageBody(body, { creating: true, files: 0 });
    const threadId = query.get('thread_id');
    let channel: FakeChannel = this.f.channel(webhook.channel_id);
    if (threadId !== null) {
      const thread = this.threads.get(threadId);
      if (!thread || thread.parent_id !== webhook.channel_id) throw err.unknownChannel();
      // Posting in an archived (not locked) thread opens it again, as on Discord.
      if (thread.thread_metadata.locked) throw new ApiError(400, 50083, 'Thread is archived');
      thread.thread_metadata.archived = false;
      thread.message_count++;
      channel = thread;
    }
    const author: FakeUser = {
      ...structuredClone(this.f.botUser),
      id: webhook.id,
      username: typeof body['username'] === 'string' ? body['username'] : webhook.name,
      global_name: null,
      avatar: null,
      bot: true,
    };
    const message = this.f.createMessage({ channel, body, files: [], author, ephemeral: false, webhookId: webhook.id });
    return query.get('wait') === 'true' ? { status: 200, body: this.f.messageApi(message) } : { status: 204 };
  }

  deleteMessage(webhook: FakeWebhook, messageId: string, query: URLSearchParams): void {
    const channelId = query.get('thread_id') ?? webhook.channel_id;
    const message = this.f.channelMessage(channelId, messageId);
    if (message.webhook_id !== webhook.id) throw err.unknownMessage();
    this.f.deleteMessage(message);
  }

  webhookFor(id: string, token: string): FakeWebhook | undefined {
    const webhook = this.webhooks.get(id);
    if (webhook && webhook.token !== token) throw err.unknownWebhook();
    return webhook;
  }

  private requireManageWebhooks(channel: FakeChannel): void {
    const perms = this.f.botPermissionsIn(channel.id);
    if (!(perms & P.ViewChannel)) throw err.missingAccess();
    if (!(perms & P.ManageWebhooks)) throw err.missingPermissions();
  }
}

function checkName(form: FormErrors, path: string[], name: unknown): void {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) {
    form.add(path, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 80 in length.');
  } else if (/discord|clyde/i.test(name) || /^(everyone|here)$/i.test(name.trim())) {
    form.add(path, 'USERNAME_INVALID_CONTAINS', 'Username cannot contain "discord" or "clyde"');
  }
}

/** The routes of threads and channel webhooks (webhook-token routes of a channel webhook: routeWebhook). */
export function threadRoutes(
  f: FakeDiscordServer,
  add: (method: string, pattern: string, handler: (ctx: RouteContext) => RouteResult, auth?: boolean) => void,
): void {
  const threads = f.threads;
  add('POST', '/channels/:channel/messages/:message/threads', ({ params, body }) => ({
    status: 201,
    body: structuredClone(threads.start(params['channel']!, params['message']!, body)),
  }));
  add('GET', '/channels/:channel/webhooks', ({ params }) => ({
    status: 200,
    body: structuredClone(threads.list(params['channel']!)),
  }));
  add('POST', '/channels/:channel/webhooks', ({ params, body }) => ({
    status: 200,
    body: structuredClone(threads.create(params['channel']!, body)),
  }));
  add('PATCH', '/channels/:channel', ({ params, body }) => {
    const thread = threads.threads.get(params['channel']!);
    if (!thread) throw err.missingPermissions();
    return { status: 200, body: structuredClone(threads.edit(thread, body)) };
  });
}
