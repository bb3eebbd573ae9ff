// A local fake of Discord (REST under /api/v10 plus the v10 JSON gateway) on 127.0.0.1, for end-to-end
// tests in which the real discord.js Client logs in:
//
//   const fake = await startFakeDiscord();
//   const guild = fake.addGuild({ channels: [{ name: 'general' }] });
//   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiUrl } });
//   await client.login(fake.token);
//   const reply = await fake.command({ guildId: guild.id, channelId: guild.channel().id, user, name: 'ping' }).reply();
//
// It behaves like Discord where bots can get it wrong: permissions (403 50013/50001), validation limits
// (50035/50006), the 3-second interaction window (10062), double acknowledgements (40060), global and
// per-route rate limits (429 with the real headers), resumable gateway sessions. Implementation lives in
// ./fakeDiscord/; this file is the public surface.
import type { GuildInit, OverwriteInit, UserInit } from './fakeDiscord/server.js';
import { FakeDiscordServer, type FakeDiscordOptions } from './fakeDiscord/server.js';
import type { GatewayReceived } from './fakeDiscord/gateway.js';
import type { FakeActivityInstance } from './fakeDiscord/oauth.js';
import type { FakeThread, FakeWebhook } from './fakeDiscord/threads.js';
import type { FakeScheduledEvent } from './fakeDiscord/scheduledEvents.js';
import type {
  AutocompleteInit,
  CommandInit,
  ComponentInit,
  FakeChannel,
  FakeGuild,
  FakeInteraction,
  FakeMember,
  FakeMessage,
  FakeUser,
  FaultInit,
  ModalSubmitInit,
  RecordedRequest,
  SelectInit,
  StoredCommand,
} from './fakeDiscord/types.js';

export type {
  AutocompleteInit,
  CommandInit,
  ComponentInit,
  FakeAttachment,
  FakeChannel,
  FakeComponent,
  FakeGuild,
  FakeInteraction,
  FakeMember,
  FakeMessage,
  FakeRole,
  FakeUser,
  FaultInit,
  ModalSubmitInit,
  OptionValue,
  PermissionOverwrite,
  RecordedRequest,
  SelectInit,
  StoredCommand,
} from './fakeDiscord/types.js';
export type { FakeDiscordOptions, GuildInit, OverwriteInit, UserInit } from './fakeDiscord/server.js';
export type { FakeActivityInstance } from './fakeDiscord/oauth.js';
export type { FakeThread, FakeWebhook } from './fakeDiscord/threads.js';
export {
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  DEFAULT_MEMBER_PERMISSIONS,
} from './fakeDiscord/permissions.js';
export { guildIdOnShard, snowflake, snowflakeTime } from './fakeDiscord/snowflake.js';
export type { FakeScheduledEvent } from './fakeDiscord/scheduledEvents.js';
export { EntityType, EventStatus } from './fakeDiscord/scheduledEvents.js';

/** The component of a message (a button, a select) whose label is `label`; throws, naming what is there, when none is. */
export function button(message: Pick<FakeMessage, 'components'>, label: string): any {
  const found = message.components
    .flatMap((row: any) => row.components ?? [])
    .find((component: any) => component.label === label);
  if (!found) throw new Error(`no "${label}" button on ${JSON.stringify(message.components)}`);
  return found;
}

export interface FakeDiscord {
  /** `http://127.0.0.1:PORT/api`: give it to discord.js as `rest.api`. */
  readonly apiUrl: string;
  /** `ws://127.0.0.1:PORT/gateway`, what GET /gateway/bot returns. */
  readonly gatewayUrl: string;
  /** The only bot token accepted (REST 401 otherwise; gateway closes 4004). */
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser;

  // --- World setup ----------------------------------------------------------------------------
  /** Adds a guild the bot is in (dispatches GUILD_CREATE if a session exists). Default: one text channel "general". */
  addGuild(init?: GuildInit): FakeGuild;
  /** The bot was removed from the guild (GUILD_DELETE). */
  removeGuild(guildId: string): void;
  addChannel(
    guildId: string,
    init: { id?: string; name: string; type?: number; permission_overwrites?: OverwriteInit[] },
  ): FakeChannel;
  deleteChannel(channelId: string): void;
  /** Replaces the channel's overwrites (CHANNEL_UPDATE). `type` defaults to 0 (role). */
  setChannelPermissions(channelId: string, overwrites: OverwriteInit[]): void;
  /** GUILD_ROLE_UPDATE; use `guild.botRoleId` / `guild.everyoneRoleId` for guild-level permission changes. */
  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void;
  /** Shorthand for setRolePermissions on the bot's managed role. */
  setBotPermissions(guildId: string, permissions: bigint): void;
  addMember(guildId: string, user: FakeUser, init?: { roles?: string[]; nick?: string }): FakeMember;
  guild(id: string): FakeGuild;
  channel(id: string): FakeChannel;
  makeUser(init?: UserInit): FakeUser;
  /** The bot's effective permissions in a channel (what `app_permissions` carries). */
  botPermissionsIn(channelId: string): bigint;

  // --- What the bot did -------------------------------------------------------------------------
  /** Every request under /api, in arrival order (429s and 401s included). */
  readonly requests: readonly RecordedRequest[];
  /** Registered commands: global, or of one guild. */
  commands(guildId?: string): StoredCommand[];
  /** Bulk-overwrite PUTs received (global + guild). */
  commandPuts(): number;
  /** Snapshots of a channel's visible messages, oldest first (ephemeral replies are never here). */
  messages(channelId: string): FakeMessage[];
  /** First existing or future message in the channel matching the predicate (an edit can make it match). */
  waitForMessage(channelId: string, predicate?: (m: FakeMessage) => boolean, timeoutMs?: number): Promise<FakeMessage>;
  /** First recorded (already or later) request matching the predicate, once answered. */
  waitForRequest(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  /** A member posting a message (MESSAGE_CREATE for bots with the GuildMessages intent). */
  postUserMessage(init: { channelId: string; user: FakeUser; content: string }): FakeMessage;
  /** A moderator deleting a message (MESSAGE_DELETE for bots with the GuildMessages intent). */
  deleteMessage(channelId: string, messageId: string): void;
  /** Threads started in the guilds (their parent_id is the channel of the message they started on). */
  threads(): FakeThread[];
  /** Webhooks the bot made in channels. */
  webhooks(): FakeWebhook[];

  // --- Scheduled events (the server's Events tab) ------------------------------------------------
  /** A guild's scheduled events, as `GET /guilds/:id/scheduled-events` lists them (finished ones too). */
  scheduledEvents(guildId: string): FakeScheduledEvent[];
  /** A member presses Interested on an event. */
  markInterested(guildId: string, eventId: string, user: FakeUser): void;
  /** A moderator cancels an event in Discord (status 4; GUILD_SCHEDULED_EVENT_UPDATE reaches the bot). */
  cancelScheduledEventAsUser(guildId: string, eventId: string): void;

  // --- Members interacting ----------------------------------------------------------------------
  command(init: CommandInit): FakeInteraction;
  button(init: ComponentInit): FakeInteraction;
  select(init: SelectInit): FakeInteraction;
  modalSubmit(init: ModalSubmitInit): FakeInteraction;
  /** Resolves with the choices of the bot's type 8 answer. */
  autocomplete(init: AutocompleteInit, timeoutMs?: number): Promise<Array<{ name: string; value: string | number }>>;

  // --- Gateway ---------------------------------------------------------------------------------
  /**
   * Closes the bot's sockets with `code` (default 4000: the client resumes). 1006 drops the TCP
   * connection without a close frame; 1000/1001/4007/4009 also forget the session so the client must
   * identify again (discord.js then waits ≥ 5 s for its identify throttle).
   */
  disconnectGateway(code?: number): void;
  /** op 9; `resumable: false` (default) makes the client identify anew. */
  invalidateSession(resumable?: boolean): void;
  /** op 7 Reconnect: the client reconnects and resumes. */
  requestReconnect(): void;
  /**
   * Leaves the bot's IDENTIFY unanswered (no READY) until the returned release function is called, to
   * observe the bot while it connects. Keep it under 15 s: discord.js then drops the socket and retries.
   */
  holdIdentify(): () => void;
  /** Resolves on the next READY (identify) or RESUMED sent after this call. */
  waitForGateway(event: 'READY' | 'RESUMED', timeoutMs?: number): Promise<void>;
  /** Resolves once the first READY has been sent (with its GUILD_CREATEs). */
  readonly isReady: Promise<void>;
  readonly gatewayConnected: boolean;
  readonly gatewayConnections: number;
  readonly identifies: number;
  readonly resumes: number;
  readonly heartbeats: number;
  /** Payloads the bot sent on the gateway (token redacted), e.g. op 3 presence updates. */
  readonly gatewayPayloads: readonly GatewayReceived[];
  /** Closes the fake initiated, with reasons (why a client never became ready). */
  readonly gatewayCloses: ReadonlyArray<{ code: number; reason: string; at: number }>;

  // --- OAuth2 and Activities (fakeDiscord/oauth.ts) ---------------------------------------------
  /** The application's OAuth2 client secret: give it to the bot as DISCORD_CLIENT_SECRET. */
  readonly clientSecret: string;
  /** A one-time OAuth2 code for `user`, as the client's AUTHORIZE hands an Activity. */
  issueOAuthCode(user: FakeUser, scopes?: string[]): string;
  /** An Activity instance running in a channel with these users in it (what the bot may look up). */
  setActivityInstance(instance: FakeActivityInstance): void;
  /** Every code exchange tried at /oauth2/token, and whether it was taken. */
  readonly oauthExchanges: ReadonlyArray<{ code: string; accepted: boolean }>;

  // --- Faults ----------------------------------------------------------------------------------
  /**
   * Answers matching REST calls (path below /api/v10: a string, a `/channels/:id/messages` template or
   * a RegExp; method '*' for any) with `{ code, message }` and `status`. Note discord.js retries 5xx
   * up to 3 times and 429s until they pass, so those need `times` > 3 to surface.
   */
  failRoute(method: string, pathPattern: RegExp | string, fault: FaultInit): void;
  /**
   * Runs the next matching REST call (method and path as for failRoute) but keeps its answer back
   * until `release()` or until the client hangs up: Discord did it (a message exists), the bot has
   * not heard so, as when the bot dies or the network drops right then. `processed` resolves once
   * it ran. clearFaults() forgets holds not yet used.
   */
  holdAnswer(method: string, pathPattern: RegExp | string): { processed: Promise<RecordedRequest>; release(): void };
  clearFaults(): void;
  setGlobalRateLimit(perSecond: number): void;
  readonly rateLimited429s: number;
  /** Exceptions thrown inside the fake (bugs of the fake, answered as 500). Should stay empty. */
  readonly internalErrors: readonly Error[];
  close(): Promise<void>;
}

export async function startFakeDiscord(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const s = new FakeDiscordServer(opts);
  await s.listen();
  const fake: FakeDiscord = {
    apiUrl: s.apiUrl,
    gatewayUrl: s.gatewayUrl,
    token: s.token,
    applicationId: s.applicationId,
    botUser: s.botUser,
    addGuild: (init) => s.addGuild(init),
    removeGuild: (id) => s.removeGuild(id),
    addChannel: (guildId, init) => s.addChannel(guildId, init),
    deleteChannel: (id) => s.deleteChannel(id),
    setChannelPermissions: (id, overwrites) => s.setChannelPermissions(id, overwrites),
    setRolePermissions: (guildId, roleId, perms) => s.setRolePermissions(guildId, roleId, perms),
    setBotPermissions: (guildId, perms) => s.setRolePermissions(guildId, s.guild(guildId).botRoleId, perms),
    addMember: (guildId, user, init) => s.addMember(guildId, user, init),
    guild: (id) => s.guild(id),
    channel: (id) => s.channel(id),
    makeUser: (init) => s.makeUser(init),
    deleteMessage: (channelId, messageId) => s.deleteMessage(s.channelMessage(channelId, messageId)),
    threads: () => structuredClone([...s.threads.threads.values()]),
    webhooks: () => structuredClone([...s.threads.webhooks.values()]),
    botPermissionsIn: (id) => s.botPermissionsIn(id),
    requests: s.requests,
    commands: (guildId) => structuredClone(s.commandList(guildId)),
    commandPuts: () => s.commandPutCount,
    messages: (channelId) => s.messages(channelId),
    waitForMessage: (channelId, predicate = () => true, timeoutMs = 10_000) =>
      s.waitUntil(
        () => s.messages(channelId).find(predicate),
        timeoutMs,
        () =>
          `a matching message in channel ${channelId} (has ${s.messages(channelId).length}: ${JSON.stringify(s.messages(channelId).map((m) => m.content.slice(0, 60)))})`,
      ),
    waitForRequest: (predicate, timeoutMs = 10_000) =>
      s.waitUntil(
        () => s.requests.find((r) => r.status !== 0 && predicate(r)),
        timeoutMs,
        () => 'a matching REST request',
      ),
    postUserMessage: (init) => s.postUserMessage(init),
    scheduledEvents: (guildId) => structuredClone(s.scheduledEvents.list(guildId)),
    markInterested: (guildId, eventId, user) => s.scheduledEvents.markInterested(guildId, eventId, user),
    cancelScheduledEventAsUser: (guildId, eventId) => {
      s.scheduledEvents.editAsUser(guildId, eventId, { status: 4 });
    },
    command: (init) => s.command(init),
    button: (init) => s.button(init),
    select: (init) => s.select(init),
    modalSubmit: (init) => s.modalSubmit(init),
    autocomplete: (init, timeoutMs) => s.autocomplete(init, timeoutMs),
    disconnectGateway: (code = 4000) => s.gateway.disconnect(code),
    invalidateSession: (resumable = false) => s.gateway.invalidateSession(resumable),
    requestReconnect: () => s.gateway.requestReconnect(),
    holdIdentify: () => s.gateway.holdIdentify(),
    waitForGateway: (event, timeoutMs = 15_000) => {
      const count = (): number => (event === 'READY' ? s.gateway.readies : s.gateway.resumes);
      const start = count();
      return s
        .waitUntil(
          () => (count() > start ? true : undefined),
          timeoutMs,
          () => `gateway ${event}`,
        )
        .then(() => undefined);
    },
    isReady: s.isReady,
    get gatewayConnected() {
      return s.gateway.connected;
    },
    get gatewayConnections() {
      return s.gateway.connectionsOpened;
    },
    get identifies() {
      return s.gateway.identifies;
    },
    get resumes() {
      return s.gateway.resumes;
    },
    get heartbeats() {
      return s.gateway.heartbeats;
    },
    gatewayPayloads: s.gateway.received,
    gatewayCloses: s.gateway.closes,
    clientSecret: s.oauth.clientSecret,
    issueOAuthCode: (user, scopes) => s.oauth.issueCode(user, scopes),
    setActivityInstance: (instance) => void s.oauth.instances.set(instance.instanceId, structuredClone(instance)),
    oauthExchanges: s.oauth.exchanges,
    failRoute: (method, pattern, fault) => s.failRoute(method, pattern, fault),
    holdAnswer: (method, pattern) => s.holdAnswer(method, pattern),
    clearFaults: () => s.clearFaults(),
    setGlobalRateLimit: (n) => s.setGlobalRateLimit(n),
    get rateLimited429s() {
      return s.rateLimited429s;
    },
    internalErrors: s.internalErrors,
    close: () => s.close(),
  };
  return fake;
}
