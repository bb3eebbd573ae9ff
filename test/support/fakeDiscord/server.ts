// The fake Discord's state and domain rules: guilds, channels, members, messages, application commands,
// interactions. REST routing lives in rest.ts and the socket protocol in gateway.ts; both call into this
// class so that a message created over REST, its gateway dispatch and what a test sees are one object.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PermissionFlagsBits } from 'discord.js';
import { ApiError, FormErrors, KNOWN_MESSAGES, err } from './errors.js';
import { FakeGateway, Intent } from './gateway.js';
import { bucketRoute, readBody } from './http.js';
import {
  DEFAULT_BOT_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  DEFAULT_MEMBER_PERMISSIONS,
  channelPermissions,
} from './permissions.js';
import { buildRoutes, type Route, type RouteContext } from './rest.js';
import { FakeScheduledEvents } from './scheduledEvents.js';
import { snowflake } from './snowflake.js';
import { FakeThreads } from './threads.js';
import type {
  AutocompleteInit,
  CommandInit,
  CommandOptionDef,
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
  InteractionMemberInit,
  ModalSubmitInit,
  OptionValue,
  PermissionOverwrite,
  RecordedRequest,
  SelectInit,
  StoredCommand,
  UploadedFile,
} from './types.js';
import { FakeOAuth } from './oauth.js';
import { validateCommands, validateMessageBody } from './validation.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const nowIso = (): string => new Date().toISOString();
const clone = <T>(v: T): T => structuredClone(v);

export const MessageFlag = {
  SuppressEmbeds: 1 << 2,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressNotifications: 1 << 12,
  IsVoiceMessage: 1 << 13,
  IsComponentsV2: 1 << 15,
} as const;
/** Flags a bot may set itself; the rest (crossposted, loading, ...) are Discord's to set. */
const SETTABLE_FLAGS =
  MessageFlag.SuppressEmbeds |
  MessageFlag.Ephemeral |
  MessageFlag.SuppressNotifications |
  MessageFlag.IsVoiceMessage |
  MessageFlag.IsComponentsV2;

export interface FakeDiscordOptions {
  /** Requests per rolling second across the bot's REST calls (interactions/webhooks exempt). Default 50; 0 = off. */
  globalRateLimit?: number;
  /** Requests per route bucket per second, advertised in X-RateLimit-* and enforced. Default 50. */
  routeRateLimit?: number;
  /**
   * How long after INTERACTION_CREATE the first callback is accepted; later ones get 10062 Unknown
   * interaction, as on Discord (3 s). 0 = no limit.
   */
  interactionResponseWindowMs?: number;
  heartbeatIntervalMs?: number;
  botUsername?: string;
  applicationName?: string;
  /** Privileged intents (GuildMembers 2, GuildPresences 256, MessageContent 32768) the app may request. Default all. */
  allowedPrivilegedIntents?: number;
}

export interface GuildInit {
  id?: string;
  name?: string;
  channels?: Array<{
    id?: string;
    name: string;
    type?: number;
    topic?: string;
    parent_id?: string;
    permission_overwrites?: OverwriteInit[];
  }>;
  roles?: Array<{ id?: string; name: string; permissions: string | bigint; mentionable?: boolean }>;
  members?: Array<{ user: UserInit & { id: string }; roles?: string[]; nick?: string }>;
  /** Permissions of the bot's managed role. Default: view/send/embed/attach/history/reactions, no admin. */
  botPermissions?: bigint;
  /** Permissions of @everyone. Default: view, read history, add reactions, use application commands. */
  everyonePermissions?: bigint;
}

export interface UserInit {
  id?: string;
  username?: string;
  discriminator?: string;
  global_name?: string | null;
  avatar?: string | null;
}

export interface OverwriteInit {
  id: string;
  /** 0 role (default), 1 member */
  type?: 0 | 1;
  allow?: string | bigint;
  deny?: string | bigint;
}

interface Fault extends FaultInit {
  method: string;
  match: (path: string) => boolean;
  remaining: number;
}

/** A REST call to run but answer late (holdAnswer): one request, then it is used up. */
interface Hold {
  method: string;
  match: (path: string) => boolean;
  used: boolean;
  processed: (request: RecordedRequest) => void;
  released: Promise<void>;
}

interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  createdAt: number;
  guild: FakeGuild;
  channel: FakeChannel;
  user: FakeUser;
  payload: Json;
  commandName: string | undefined;
  callbackType: number | undefined;
  /** What `@original` refers to: the reply, the deferred placeholder, or the component's message. */
  original: FakeMessage | undefined;
  componentMessage: FakeMessage | undefined;
  /** Deferred with type 5 and not yet edited: the next PATCH @original or follow-up fills it. */
  loading: boolean;
  ephemeral: boolean;
  /** Deferred update (6) not yet followed by an edit. */
  awaitingUpdate: boolean;
  messageIds: Set<string>;
  responses: FakeMessage[];
  cursor: number;
  choices: Array<{ name: string; value: string | number }> | undefined;
  modal: Json | undefined;
}

export class FakeDiscordServer {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: FakeUser & { bot: true; verified: boolean; mfa_enabled: boolean };
  readonly applicationOwner: FakeUser;
  readonly requests: RecordedRequest[] = [];
  /** Unexpected exceptions inside the fake (a bug in it, not in the bot). */
  readonly internalErrors: Error[] = [];
  rateLimited429s = 0;
  apiUrl = '';
  baseUrl = '';
  readonly isReady: Promise<void>;

  readonly users = new Map<string, FakeUser>();
  /** OAuth2 codes and tokens, and Activity instances (oauth.ts). */
  readonly oauth: FakeOAuth;
  readonly guilds = new Map<string, FakeGuild>();
  readonly channels = new Map<string, FakeChannel>();
  readonly channelMessages = new Map<string, FakeMessage[]>();
  readonly messagesById = new Map<string, FakeMessage>();
  readonly attachmentData = new Map<string, { data: Buffer; contentType: string }>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  readonly globalCommands: StoredCommand[] = [];
  readonly guildCommands = new Map<string, StoredCommand[]>();
  commandPutCount = 0;
  readonly scheduledEvents = new FakeScheduledEvents(this);

  private readonly opts: Required<FakeDiscordOptions>;
  private readonly events = new EventEmitter();
  private readonly pendingWaits = new Set<(e: Error) => void>();
  private readonly faults: Fault[] = [];
  private readonly holds: Hold[] = [];
  private readonly globalHits: number[] = [];
  private readonly buckets = new Map<string, { start: number; count: number }>();
  /** guildId → permissions value → id of the role the fake made to grant a member those permissions. */
  private readonly permRoles = new Map<string, Map<string, string>>();
  private readonly routes: Route[];
  readonly gateway: FakeGateway;
  readonly threads = new FakeThreads(this);
  private readonly http: Server;
  private resolveReady!: () => void;
  private closed = false;
  private notifyScheduled = false;

  constructor(options: FakeDiscordOptions = {}) {
    this.opts = {
      globalRateLimit: options.globalRateLimit ?? 50,
      routeRateLimit: options.routeRateLimit ?? 50,
      interactionResponseWindowMs: options.interactionResponseWindowMs ?? 3000,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      botUsername: options.botUsername ?? 'Fake Bot',
      applicationName: options.applicationName ?? 'Fake Application',
      allowedPrivilegedIntents:
        options.allowedPrivilegedIntents ?? Intent.GuildMembers | Intent.GuildPresences | Intent.MessageContent,
    };
    this.events.setMaxListeners(0);
    const botId = snowflake();
    this.applicationId = botId;
    // Shaped like a real token (base64 user id . timestamp . hmac) so token-parsing code behaves.
    this.token = `${Buffer.from(botId).toString('base64').replace(/=+$/, '')}.${randomBytes(4).toString('base64url')}.${randomBytes(27).toString('base64url')}`;
    this.botUser = {
      id: botId,
      username: this.opts.botUsername,
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
      verified: true,
      mfa_enabled: false,
      flags: 0,
      public_flags: 0,
    };
    this.users.set(botId, this.botUser);
    this.applicationOwner = this.makeUser({ username: 'app-owner' });
    this.isReady = new Promise<void>((resolve) => (this.resolveReady = resolve));
    this.oauth = new FakeOAuth(this.applicationId, this.users);
    this.routes = buildRoutes(this);
    this.gateway = new FakeGateway({
      token: this.token,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      allowedPrivilegedIntents: this.opts.allowedPrivilegedIntents,
      resumeUrl: () => `${this.baseUrl.replace(/^http/, 'ws')}/gateway/resume`,
      readyData: (sessionId, resumeUrl) => this.readyData(sessionId, resumeUrl),
      guildCreates: (intents) =>
        intents & Intent.Guilds ? [...this.guilds.values()].map((g) => this.guildCreatePayload(g, intents)) : [],
      guildMembersChunk: (request) => this.guildMembersChunk(request),
      onChange: () => this.changed(),
    });
    this.http = createServer((req, res) => {
      this.handleHttp(req, res).catch((e: unknown) => {
        this.internalErrors.push(e instanceof Error ? e : new Error(String(e)));
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: '500: Internal Server Error', code: 0 }));
      });
    });
    this.http.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      if (path === '/gateway' || path === '/gateway/resume') this.gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = this.http.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api`;
  }

  get gatewayUrl(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/gateway`;
  }

  // ---------------------------------------------------------------------------------------------
  // Change notification and waiting

  /**
   * Wakes waiters, batched to the next turn of the event loop: a route handler's state change must not
   * resolve a test's wait before the HTTP answer (and its recorded status) has gone out.
   */
  changed(): void {
    if (this.notifyScheduled || this.closed) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      if (this.gateway.readies > 0) this.resolveReady();
      this.events.emit('change');
    });
  }

  /** Resolves with the first non-undefined value of `check`, re-evaluated on every state change. */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    if (this.closed) return Promise.reject(new Error('fakeDiscord: closed'));
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.events.off('change', onChange);
        this.pendingWaits.delete(fail);
      };
      const fail = (e: Error): void => {
        cleanup();
        reject(e);
      };
      const onChange = (): void => {
        let value: T | undefined;
        try {
          value = check();
        } catch (e) {
          fail(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (value !== undefined) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(
        () => fail(new Error(`fakeDiscord: timed out after ${timeoutMs} ms waiting for ${describe()}`)),
        timeoutMs,
      );
      this.events.on('change', onChange);
      this.pendingWaits.add(fail);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Users, guilds, channels, roles, members

  makeUser(init: UserInit = {}): FakeUser {
    const id = init.id ?? snowflake();
    const user: FakeUser = {
      id,
      username: init.username ?? `user${id.slice(-6)}`,
      discriminator: init.discriminator ?? '0',
      global_name: init.global_name ?? null,
      avatar: init.avatar ?? null,
      public_flags: 0,
    };
    this.users.set(id, user);
    return user;
  }

  private registerUser(user: UserInit & { id: string }): FakeUser {
    const known = this.users.get(user.id);
    if (known) return known;
    return this.makeUser(user);
  }

  addGuild(init: GuildInit = {}): FakeGuild {
    const id = init.id ?? snowflake();
    if (this.guilds.has(id)) throw new Error(`fakeDiscord: guild ${id} already exists`);
    const owner = this.makeUser({ username: 'guild-owner' });
    const joinedAt = nowIso();
    const everyone = this.makeRole(id, '@everyone', init.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS, 0);
    const botRole = this.makeRole(
      snowflake(),
      this.botUser.username,
      init.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
      1,
    );
    botRole.managed = true;
    botRole.tags = { bot_id: this.botUser.id };
    const roles = [
      everyone,
      botRole,
      ...(init.roles ?? []).map((r, i) => ({
        ...this.makeRole(r.id ?? snowflake(), r.name, BigInt(r.permissions), i + 2),
        mentionable: r.mentionable ?? false,
      })),
    ];
    const guild: FakeGuild = {
      id,
      name: init.name ?? 'Fake Guild',
      ownerId: owner.id,
      everyoneRoleId: id,
      botRoleId: botRole.id,
      joinedAt,
      channels: [],
      roles,
      members: [],
      channel(name?: string): FakeChannel {
        const found = this.channels.find((c) => (name === undefined ? c.type === 0 : c.name === name));
        if (!found)
          throw new Error(`fakeDiscord: guild ${this.id} has no ${name === undefined ? 'text' : `"${name}"`} channel`);
        return found;
      },
      role(name: string): FakeRole {
        const found = this.roles.find((r) => r.name === name);
        if (!found) throw new Error(`fakeDiscord: guild ${this.id} has no role "${name}"`);
        return found;
      },
    };
    const channelInits = init.channels ?? [{ name: 'general' }];
    channelInits.forEach((c, i) => {
      const channel: FakeChannel = {
        id: c.id ?? snowflake(),
        guild_id: id,
        name: c.name,
        type: c.type ?? 0,
        position: i,
        permission_overwrites: (c.permission_overwrites ?? []).map(normalizeOverwrite),
        parent_id: c.parent_id ?? null,
        topic: c.topic ?? null,
        nsfw: false,
        rate_limit_per_user: 0,
        last_message_id: null,
        flags: 0,
      };
      guild.channels.push(channel);
      this.channels.set(channel.id, channel);
    });
    guild.members.push(this.makeMember(owner, []), this.makeMember(this.botUser, [botRole.id], joinedAt));
    for (const m of init.members ?? []) {
      guild.members.push(this.makeMember(this.registerUser(m.user), m.roles ?? [], undefined, m.nick));
    }
    this.guilds.set(id, guild);
    this.gateway.dispatchWith('GUILD_CREATE', (intents) => this.guildCreatePayload(guild, intents), Intent.Guilds);
    this.changed();
    return guild;
  }

  private makeRole(id: string, name: string, permissions: bigint, position: number): FakeRole {
    return {
      id,
      name,
      permissions: permissions.toString(),
      position,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      managed: false,
      mentionable: false,
      flags: 0,
    };
  }

  private makeMember(user: FakeUser, roles: string[], joinedAt = nowIso(), nick?: string): FakeMember {
    return {
      user,
      roles,
      nick: nick ?? null,
      avatar: null,
      joined_at: joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0,
      pending: false,
      communication_disabled_until: null,
    };
  }

  guild(id: string): FakeGuild {
    const g = this.guilds.get(id);
    if (!g) throw new Error(`fakeDiscord: no guild ${id}`);
    return g;
  }

  channel(id: string): FakeChannel {
    const c = this.channels.get(id);
    if (!c) throw new Error(`fakeDiscord: no channel ${id}`);
    return c;
  }

  guildOf(channel: FakeChannel): FakeGuild {
    return this.guild(channel.guild_id);
  }

  botMember(guild: FakeGuild): FakeMember {
    const me = guild.members.find((m) => m.user.id === this.botUser.id);
    if (!me) throw new Error(`fakeDiscord: bot is not in guild ${guild.id}`);
    return me;
  }

  /** The bot's effective permissions in a channel, as Discord (and discord.js) compute them. */
  botPermissionsIn(channelId: string): bigint {
    const channel = this.channel(channelId);
    const guild = this.guildOf(channel);
    return channelPermissions(guild, channel, this.botMember(guild));
  }

  removeGuild(guildId: string): void {
    const guild = this.guild(guildId);
    this.guilds.delete(guildId);
    for (const c of guild.channels) this.channels.delete(c.id);
    this.guildCommands.delete(guildId);
    this.scheduledEvents.forgetGuild(guildId);
    this.gateway.dispatch('GUILD_DELETE', { id: guildId }, Intent.Guilds);
    this.changed();
  }

  addChannel(
    guildId: string,
    init: { id?: string; name: string; type?: number; permission_overwrites?: OverwriteInit[] },
  ): FakeChannel {
    const guild = this.guild(guildId);
    const channel: FakeChannel = {
      id: init.id ?? snowflake(),
      guild_id: guildId,
      name: init.name,
      type: init.type ?? 0,
      position: guild.channels.length,
      permission_overwrites: (init.permission_overwrites ?? []).map(normalizeOverwrite),
      parent_id: null,
      topic: null,
      nsfw: false,
      rate_limit_per_user: 0,
      last_message_id: null,
      flags: 0,
    };
    guild.channels.push(channel);
    this.channels.set(channel.id, channel);
    this.gateway.dispatch('CHANNEL_CREATE', clone(channel), Intent.Guilds);
    this.changed();
    return channel;
  }

  deleteChannel(channelId: string): void {
    const channel = this.channel(channelId);
    const guild = this.guildOf(channel);
    guild.channels = guild.channels.filter((c) => c.id !== channelId);
    this.channels.delete(channelId);
    this.gateway.dispatch('CHANNEL_DELETE', clone(channel), Intent.Guilds);
    this.changed();
  }

  setChannelPermissions(channelId: string, overwrites: OverwriteInit[]): void {
    const channel = this.channel(channelId);
    channel.permission_overwrites = overwrites.map(normalizeOverwrite);
    this.gateway.dispatch('CHANNEL_UPDATE', clone(channel), Intent.Guilds);
    this.changed();
  }

  setRolePermissions(guildId: string, roleId: string, permissions: bigint): void {
    const guild = this.guild(guildId);
    const role = guild.roles.find((r) => r.id === roleId);
    if (!role) throw new Error(`fakeDiscord: no role ${roleId} in guild ${guildId}`);
    role.permissions = permissions.toString();
    this.gateway.dispatch('GUILD_ROLE_UPDATE', { guild_id: guildId, role: clone(role) }, Intent.Guilds);
    this.changed();
  }

  addMember(guildId: string, user: FakeUser, init: { roles?: string[]; nick?: string } = {}): FakeMember {
    const guild = this.guild(guildId);
    this.users.set(user.id, user);
    const existing = guild.members.find((m) => m.user.id === user.id);
    if (existing) return existing;
    const member = this.makeMember(user, init.roles ?? [], undefined, init.nick);
    guild.members.push(member);
    this.gateway.dispatch('GUILD_MEMBER_ADD', { ...clone(member), guild_id: guildId }, Intent.GuildMembers);
    this.changed();
    return member;
  }

  /**
   * The member behind an interaction. Explicit `permissions` are granted through a role the fake creates
   * (and announces with GUILD_ROLE_CREATE), so that discord.js's `member.permissions` and the payload's
   * `member.permissions` agree, as they do on Discord.
   */
  private interactingMember(guild: FakeGuild, user: FakeUser, permissions: bigint | undefined): FakeMember {
    let member = guild.members.find((m) => m.user.id === user.id);
    const fresh = !member;
    if (!member) member = this.addMember(guild.id, user);
    if (permissions !== undefined || fresh) {
      const roleId = this.permissionRole(guild, permissions ?? DEFAULT_MEMBER_PERMISSIONS);
      const synthetic = new Set(this.permRoles.get(guild.id)?.values());
      member.roles = [...member.roles.filter((r) => !synthetic.has(r)), roleId];
    }
    return member;
  }

  private permissionRole(guild: FakeGuild, permissions: bigint): string {
    let byValue = this.permRoles.get(guild.id);
    if (!byValue) this.permRoles.set(guild.id, (byValue = new Map()));
    const known = byValue.get(permissions.toString());
    if (known) return known;
    const role = this.makeRole(snowflake(), `perms ${permissions.toString(16)}`, permissions, guild.roles.length);
    guild.roles.push(role);
    byValue.set(permissions.toString(), role.id);
    this.gateway.dispatch('GUILD_ROLE_CREATE', { guild_id: guild.id, role: clone(role) }, Intent.Guilds);
    return role.id;
  }

  // ---------------------------------------------------------------------------------------------
  // Wire payloads

  guildApi(guild: FakeGuild): Json {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      icon_hash: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: clone(guild.roles),
      emojis: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: guild.channels.find((c) => c.type === 0)?.id ?? null,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_presences: null,
      max_members: 500_000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      nsfw_level: 0,
      stickers: [],
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      incidents_data: null,
    };
  }

  private guildCreatePayload(guild: FakeGuild, intents: number): Json {
    // Without the presences intent Discord sends only the bot's own member (and voice members).
    const members =
      intents & Intent.GuildPresences ? guild.members : guild.members.filter((m) => m.user.id === this.botUser.id);
    return {
      ...this.guildApi(guild),
      joined_at: guild.joinedAt,
      large: false,
      unavailable: false,
      member_count: guild.members.length,
      voice_states: [],
      members: clone(members),
      channels: clone(guild.channels),
      threads: clone(this.threads.active(guild.id)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: clone(this.scheduledEvents.list(guild.id)),
      soundboard_sounds: [],
      embedded_activities: [],
    };
  }

  private readyData(sessionId: string, resumeUrl: string): Json {
    return {
      v: 10,
      user: clone(this.botUser),
      user_settings: {},
      guilds: [...this.guilds.keys()].map((id) => ({ id, unavailable: true })),
      guild_join_requests: [],
      relationships: [],
      private_channels: [],
      presences: [],
      geo_ordered_rtc_regions: ['fake'],
      session_id: sessionId,
      session_type: 'normal',
      resume_gateway_url: resumeUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
      auth: {},
      _trace: ['fake-gateway'],
    };
  }

  applicationApi(): Json {
    return {
      id: this.applicationId,
      name: this.opts.applicationName,
      icon: null,
      description: '',
      summary: '',
      type: null,
      bot_public: true,
      bot_require_code_grant: false,
      verify_key: randomBytes(32).toString('hex'),
      flags: 0,
      owner: clone(this.applicationOwner),
      team: null,
      bot: clone(this.botUser),
      approximate_guild_count: this.guilds.size,
      redirect_uris: [],
      interactions_endpoint_url: null,
      integration_types_config: { '0': {} },
      tags: [],
    };
  }

  private guildMembersChunk(request: Json): Json | undefined {
    const guildId = request['guild_id'];
    const guild = typeof guildId === 'string' ? this.guilds.get(guildId) : undefined;
    if (!guild) return undefined;
    let members = guild.members;
    const ids = request['user_ids'];
    if (Array.isArray(ids)) members = members.filter((m) => ids.includes(m.user.id));
    const query = request['query'];
    if (typeof query === 'string' && query)
      members = members.filter((m) => m.user.username.toLowerCase().startsWith(query.toLowerCase()));
    const limit = request['limit'];
    if (typeof limit === 'number' && limit > 0) members = members.slice(0, limit);
    const chunk: Json = { guild_id: guild.id, members: clone(members), chunk_index: 0, chunk_count: 1, not_found: [] };
    if (request['nonce'] !== undefined) chunk['nonce'] = request['nonce'];
    return chunk;
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  /** The wire form of a stored message (drops the fake's own bookkeeping fields). */
  messageApi(m: FakeMessage): Json {
    const wire: Json = { ...m };
    delete wire['ephemeral'];
    delete wire['interactionId'];
    return clone(wire);
  }

  messages(channelId: string): FakeMessage[] {
    return clone(this.channelMessages.get(channelId) ?? []);
  }

  createMessage(args: {
    channel: FakeChannel;
    body: Json;
    files: UploadedFile[];
    author: FakeUser;
    ephemeral: boolean;
    loading?: boolean;
    interaction?: InteractionRecord;
    /** A channel webhook's message (threads.ts). */
    webhookId?: string;
  }): FakeMessage {
    const { channel, body, interaction } = args;
    const id = snowflake();
    let flags = (typeof body['flags'] === 'number' ? body['flags'] : 0) & SETTABLE_FLAGS;
    if (args.ephemeral) flags |= MessageFlag.Ephemeral;
    else flags &= ~MessageFlag.Ephemeral;
    if (args.loading) flags |= MessageFlag.Loading;
    const content = typeof body['content'] === 'string' ? body['content'] : '';
    const reference = isObject(body['message_reference']) ? body['message_reference'] : undefined;
    const message: FakeMessage = {
      id,
      channel_id: channel.id,
      guild_id: channel.guild_id,
      author: clone(args.author),
      content,
      embeds: Array.isArray(body['embeds']) ? clone(body['embeds']) : [],
      components: Array.isArray(body['components']) ? (clone(body['components']) as FakeComponent[]) : [],
      attachments: this.attachmentsFor(channel.id, body, args.files, []),
      flags,
      ephemeral: args.ephemeral,
      ...this.mentionsFor(content, body['allowed_mentions']),
      timestamp: nowIso(),
      edited_timestamp: null,
      type: interaction ? (interaction.type === 2 ? 20 : 0) : reference ? 19 : 0,
      tts: body['tts'] === true,
      pinned: false,
    };
    if (body['allowed_mentions'] !== undefined) message.allowed_mentions = clone(body['allowed_mentions']);
    if (typeof body['nonce'] === 'string' || typeof body['nonce'] === 'number') message.nonce = body['nonce'];
    if (reference) {
      message.message_reference = {
        type: 0,
        channel_id: typeof reference['channel_id'] === 'string' ? reference['channel_id'] : channel.id,
        guild_id: channel.guild_id,
        ...(typeof reference['message_id'] === 'string' ? { message_id: reference['message_id'] } : {}),
      };
    }
    if (args.webhookId !== undefined) message.webhook_id = args.webhookId;
    if (interaction) {
      message.webhook_id = this.applicationId;
      message.application_id = this.applicationId;
      message.interactionId = interaction.id;
      const metadata: Json = {
        id: interaction.id,
        type: interaction.type,
        user: clone(interaction.user),
        authorizing_integration_owners: { '0': interaction.guild.id },
      };
      if (interaction.commandName !== undefined) {
        metadata['name'] = interaction.commandName;
        metadata['command_type'] = 1;
      }
      if (interaction.original && interaction.original.id !== id)
        metadata['original_response_message_id'] = interaction.original.id;
      if (interaction.componentMessage) metadata['interacted_message_id'] = interaction.componentMessage.id;
      message.interaction_metadata = metadata;
      interaction.messageIds.add(id);
    }
    this.messagesById.set(id, message);
    if (!message.ephemeral) {
      const list = this.channelMessages.get(channel.id) ?? [];
      list.push(message);
      this.channelMessages.set(channel.id, list);
      channel.last_message_id = id;
      this.dispatchMessage('MESSAGE_CREATE', message);
    }
    this.changed();
    return message;
  }

  editMessage(message: FakeMessage, body: Json, files: UploadedFile[]): void {
    const wasLoading = (message.flags & MessageFlag.Loading) !== 0;
    const next = clone(message);
    if ('content' in body) next.content = typeof body['content'] === 'string' ? body['content'] : '';
    if ('embeds' in body) next.embeds = Array.isArray(body['embeds']) ? clone(body['embeds']) : [];
    if ('components' in body)
      next.components = Array.isArray(body['components']) ? (clone(body['components']) as FakeComponent[]) : [];
    if ('allowed_mentions' in body) next.allowed_mentions = clone(body['allowed_mentions']);
    if (typeof body['flags'] === 'number') {
      // Only suppress-embeds and the components-v2 switch can change on an existing message.
      const mutable = MessageFlag.SuppressEmbeds | MessageFlag.IsComponentsV2;
      next.flags = (next.flags & ~mutable) | (body['flags'] & mutable);
    }
    next.flags &= ~MessageFlag.Loading;
    if ('attachments' in body || files.length > 0)
      next.attachments = this.attachmentsFor(message.channel_id, body, files, message.attachments);
    const hasSomething =
      next.content.trim() !== '' || next.embeds.length > 0 || next.components.length > 0 || next.attachments.length > 0;
    if (!hasSomething) throw err.emptyMessage();
    Object.assign(next, this.mentionsFor(next.content, next.allowed_mentions));
    // The first fill of a deferred "thinking" message is its content arriving, not an edit.
    if (!wasLoading) next.edited_timestamp = nowIso();
    Object.assign(message, next);
    if (!message.ephemeral) this.dispatchMessage('MESSAGE_UPDATE', message);
    this.changed();
  }

  deleteMessage(message: FakeMessage): void {
    this.messagesById.delete(message.id);
    const list = this.channelMessages.get(message.channel_id);
    if (list) {
      const i = list.findIndex((m) => m.id === message.id);
      if (i >= 0) list.splice(i, 1);
    }
    if (!message.ephemeral) {
      this.gateway.dispatch(
        'MESSAGE_DELETE',
        { id: message.id, channel_id: message.channel_id, guild_id: message.guild_id },
        Intent.GuildMessages,
      );
    }
    this.changed();
  }

  /** A message in a channel's visible history (ephemeral ones are not). */
  channelMessage(channelId: string, messageId: string): FakeMessage {
    const m = this.channelMessages.get(channelId)?.find((x) => x.id === messageId);
    if (!m) throw err.unknownMessage();
    return m;
  }

  private dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: FakeMessage): void {
    const guild = message.guild_id ? this.guilds.get(message.guild_id) : undefined;
    const member = guild?.members.find((m) => m.user.id === message.author.id);
    this.gateway.dispatchWith(
      t,
      (intents) => {
        const d = this.messageApi(message);
        if (member) d['member'] = memberWithoutUser(member);
        // Without MessageContent, other people's messages arrive with content stripped (unless they mention the bot).
        const own = message.author.id === this.botUser.id;
        const mentionsBot = message.mentions.some((u) => u.id === this.botUser.id);
        if (!own && !mentionsBot && !(intents & Intent.MessageContent)) {
          d['content'] = '';
          d['embeds'] = [];
          d['attachments'] = [];
          d['components'] = [];
        }
        return d;
      },
      Intent.GuildMessages,
    );
  }

  /** A member posting in a channel (MESSAGE_CREATE to a bot with the GuildMessages intent). */
  postUserMessage(init: { channelId: string; user: FakeUser; content: string; embeds?: unknown[] }): FakeMessage {
    const channel = this.channel(init.channelId);
    this.addMember(channel.guild_id, init.user);
    return this.createMessage({
      channel,
      body: { content: init.content, embeds: init.embeds ?? [] },
      files: [],
      author: init.user,
      ephemeral: false,
    });
  }

  private attachmentsFor(
    channelId: string,
    body: Json,
    files: UploadedFile[],
    existing: FakeAttachment[],
  ): FakeAttachment[] {
    const described = Array.isArray(body['attachments']) ? body['attachments'].filter(isObject) : undefined;
    // On edits, `attachments` lists what to keep (by id); absent means keep all.
    const kept = described ? existing.filter((a) => described.some((d) => String(d['id']) === a.id)) : existing;
    const added = files.map((file, index) => {
      const id = snowflake();
      const meta = described?.find((d) => String(d['id']) === String(index));
      const filename = typeof meta?.['filename'] === 'string' ? meta['filename'] : file.filename;
      const url = `${this.baseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
      this.attachmentData.set(id, { data: file.data, contentType: file.contentType });
      const attachment: FakeAttachment = {
        id,
        filename,
        size: file.size,
        url,
        proxy_url: url,
        content_type: file.contentType,
      };
      if (typeof meta?.['description'] === 'string') attachment.description = meta['description'];
      return attachment;
    });
    return [...clone(kept), ...added];
  }

  private mentionsFor(
    content: string,
    allowed: unknown,
  ): Pick<FakeMessage, 'mentions' | 'mention_roles' | 'mention_everyone'> {
    const users = [...content.matchAll(/<@!?(\d{17,20})>/g)]
      .map((m) => this.users.get(m[1]!))
      .filter((u): u is FakeUser => u !== undefined);
    const roles = [...content.matchAll(/<@&(\d{17,20})>/g)].map((m) => m[1]!);
    const parse = isObject(allowed) && Array.isArray(allowed['parse']) ? allowed['parse'] : undefined;
    const everyoneAllowed = parse === undefined ? !isObject(allowed) : parse.includes('everyone');
    // Like Discord, only what allowed_mentions lets through counts as mentioned (and pings).
    const listed = (key: string): unknown[] | undefined =>
      isObject(allowed) && Array.isArray(allowed[key]) ? (allowed[key] as unknown[]) : undefined;
    const pings = (kind: 'users' | 'roles', id: string): boolean =>
      !isObject(allowed) || (parse?.includes(kind) ?? false) || (listed(kind)?.includes(id) ?? false);
    return {
      mentions: clone([...new Map(users.filter((u) => pings('users', u.id)).map((u) => [u.id, u])).values()]),
      mention_roles: [...new Set(roles.filter((id) => pings('roles', id)))],
      mention_everyone: everyoneAllowed && /@(everyone|here)\b/.test(content),
    };
  }

  /** Throws the 403s Discord gives a bot posting where it may not. */
  assertCanPost(channel: FakeChannel, body: Json, files: number): void {
    const perms = this.botPermissionsIn(channel.id);
    const P = PermissionFlagsBits;
    if (!(perms & P.ViewChannel)) throw err.missingAccess();
    // In a thread, Send Messages in Threads is what counts.
    if (!(perms & (this.threads.isThread(channel.id) ? P.SendMessagesInThreads : P.SendMessages))) {
      throw err.missingPermissions();
    }
    if (Array.isArray(body['embeds']) && body['embeds'].length > 0 && !(perms & P.EmbedLinks))
      throw err.missingPermissions();
    if (files > 0 && !(perms & P.AttachFiles)) throw err.missingPermissions();
    if (isObject(body['message_reference']) && !(perms & P.ReadMessageHistory)) throw err.missingPermissions();
  }

  // ---------------------------------------------------------------------------------------------
  // Application commands

  commandList(guildId?: string): StoredCommand[] {
    if (guildId === undefined) return this.globalCommands;
    let list = this.guildCommands.get(guildId);
    if (!list) this.guildCommands.set(guildId, (list = []));
    return list;
  }

  private storeCommand(body: Json, previous: StoredCommand | undefined, guildId: string | undefined): StoredCommand {
    const type = typeof body['type'] === 'number' ? body['type'] : 1;
    const dmp = body['default_member_permissions'];
    const command: StoredCommand = {
      ...clone(body),
      id: previous?.id ?? snowflake(),
      application_id: this.applicationId,
      version: snowflake(),
      type,
      name: String(body['name']),
      description: typeof body['description'] === 'string' ? body['description'] : '',
      default_member_permissions:
        typeof dmp === 'string' || typeof dmp === 'number' || typeof dmp === 'bigint' ? String(dmp) : null,
      nsfw: body['nsfw'] === true,
      contexts: Array.isArray(body['contexts']) ? (body['contexts'] as number[]) : null,
      integration_types: Array.isArray(body['integration_types']) ? (body['integration_types'] as number[]) : [0],
    };
    if (guildId !== undefined) command.guild_id = guildId;
    return command;
  }

  putCommands(guildId: string | undefined, body: unknown): StoredCommand[] {
    const defs = validateCommands(body, false);
    const list = this.commandList(guildId);
    const next = defs.map((def) => {
      const type = typeof def['type'] === 'number' ? def['type'] : 1;
      // Discord keeps a command's id when an overwrite contains the same name and type.
      const previous = list.find((c) => c.name === def['name'] && c.type === type);
      return this.storeCommand(def, previous, guildId);
    });
    list.splice(0, list.length, ...next);
    this.commandPutCount++;
    this.changed();
    return clone(next);
  }

  upsertCommand(guildId: string | undefined, body: unknown): { created: boolean; command: StoredCommand } {
    const [def] = validateCommands(body, true);
    const list = this.commandList(guildId);
    const type = typeof def!['type'] === 'number' ? def!['type'] : 1;
    const i = list.findIndex((c) => c.name === def!['name'] && c.type === type);
    const command = this.storeCommand(def!, i >= 0 ? list[i] : undefined, guildId);
    if (i >= 0) list[i] = command;
    else list.push(command);
    this.changed();
    return { created: i < 0, command: clone(command) };
  }

  patchCommand(guildId: string | undefined, id: string, body: unknown): StoredCommand {
    const list = this.commandList(guildId);
    const i = list.findIndex((c) => c.id === id);
    if (i < 0) throw err.unknownCommand();
    const merged = { ...list[i], ...(isObject(body) ? body : {}) };
    validateCommands(merged, true);
    const command = this.storeCommand(merged, list[i], guildId);
    list[i] = command;
    this.changed();
    return clone(command);
  }

  deleteCommand(guildId: string | undefined, id: string): void {
    const list = this.commandList(guildId);
    const i = list.findIndex((c) => c.id === id);
    if (i < 0) throw err.unknownCommand();
    list.splice(i, 1);
    this.changed();
  }

  private findCommand(guildId: string, name: string, type = 1): StoredCommand | undefined {
    return (
      this.guildCommands.get(guildId)?.find((c) => c.name === name && c.type === type) ??
      this.globalCommands.find((c) => c.name === name && c.type === type)
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Interactions

  command(init: CommandInit): FakeInteraction {
    return this.handle(this.commandInteraction(init, undefined));
  }

  autocomplete(init: AutocompleteInit, timeoutMs = 10_000): Promise<Array<{ name: string; value: string | number }>> {
    const rec = this.commandInteraction(init, init.focused);
    return this.waitUntil(
      () => {
        if (rec.callbackType === undefined) return undefined;
        if (rec.callbackType !== 8)
          throw new Error(
            `fakeDiscord: autocomplete for /${init.name} answered with callback type ${rec.callbackType}, not 8`,
          );
        return clone(rec.choices ?? []);
      },
      timeoutMs,
      () => `the bot to answer autocomplete for /${init.name} option "${init.focused}"`,
    );
  }

  button(init: ComponentInit): FakeInteraction {
    return this.componentInteraction(init, 2, undefined);
  }

  select(init: SelectInit): FakeInteraction {
    return this.componentInteraction(init, undefined, init.values);
  }

  modalSubmit(init: ModalSubmitInit): FakeInteraction {
    const { guild, channel, member } = this.interactionContext(init);
    const data: Json = {
      custom_id: init.customId,
      components: Object.entries(init.fields).map(([customId, value]) => ({
        type: 1,
        components: [{ type: 4, custom_id: customId, value }],
      })),
    };
    const live = init.message ? this.messagesById.get(init.message.id) : undefined;
    return this.handle(
      this.createInteraction({ type: 5, guild, channel, member, data, locale: init.locale, message: live }),
    );
  }

  private interactionContext(init: InteractionMemberInit): {
    guild: FakeGuild;
    channel: FakeChannel;
    member: FakeMember;
  } {
    if (!this.gateway.hasSession) {
      // Discord would drop it; failing here beats a reply() timeout in a test that raced the bot's login.
      throw new Error(
        'fakeDiscord: no gateway session to deliver the interaction to; wait for the bot to connect (fake.isReady / waitForGateway)',
      );
    }
    const guild = this.guild(init.guildId);
    const channel = this.channel(init.channelId);
    if (channel.guild_id !== guild.id)
      throw new Error(`fakeDiscord: channel ${channel.id} is not in guild ${guild.id}`);
    this.users.set(init.user.id, init.user);
    const member = this.interactingMember(guild, init.user, init.permissions);
    return { guild, channel, member };
  }

  private componentInteraction(
    init: ComponentInit,
    expectType: number | undefined,
    values: string[] | undefined,
  ): FakeInteraction {
    const message = this.messagesById.get(init.message.id);
    if (!message) throw new Error(`fakeDiscord: message ${init.message.id} does not exist (deleted?)`);
    const component = findComponent(message.components, init.customId);
    if (!component)
      throw new Error(`fakeDiscord: message ${message.id} has no component with custom_id "${init.customId}"`);
    if (expectType !== undefined && component.type !== expectType) {
      throw new Error(`fakeDiscord: component "${init.customId}" is type ${component.type}, not ${expectType}`);
    }
    if (component.disabled === true)
      throw new Error(`fakeDiscord: component "${init.customId}" is disabled; a member cannot use it`);
    const channelId = init.channelId ?? message.channel_id;
    const guildId = init.guildId ?? this.channel(channelId).guild_id;
    const base: InteractionMemberInit = { guildId, channelId, user: init.user };
    if (init.permissions !== undefined) base.permissions = init.permissions;
    const { guild, channel, member } = this.interactionContext(base);
    const data: Json = { custom_id: init.customId, component_type: component.type };
    if (values) data['values'] = values;
    return this.handle(this.createInteraction({ type: 3, guild, channel, member, data, locale: init.locale, message }));
  }

  private commandInteraction(init: CommandInit, focused: string | undefined): InteractionRecord {
    const { guild, channel, member } = this.interactionContext(init);
    const def = this.findCommand(guild.id, init.name);
    const resolved: { users: Json; members: Json; channels: Json; roles: Json } = {
      users: {},
      members: {},
      channels: {},
      roles: {},
    };
    const where = `/${[init.name, init.subcommandGroup, init.subcommand].filter(Boolean).join(' ')}`;

    let defs: CommandOptionDef[] | undefined = def ? (def.options ?? []) : undefined;
    if (defs && init.subcommandGroup !== undefined) {
      const group = defs.find((o) => o.type === 2 && o.name === init.subcommandGroup);
      if (!group)
        throw new Error(
          `fakeDiscord: ${where}: the registered command has no subcommand group "${init.subcommandGroup}"`,
        );
      defs = group.options ?? [];
    }
    if (defs && init.subcommand !== undefined) {
      const sub = defs.find((o) => o.type === 1 && o.name === init.subcommand);
      if (!sub) throw new Error(`fakeDiscord: ${where}: the registered command has no subcommand "${init.subcommand}"`);
      defs = sub.options ?? [];
    }

    const leaf = Object.entries(init.options ?? {}).map(([name, value]) => {
      const optDef = defs?.find((o) => o.name === name);
      if (defs && !optDef)
        throw new Error(
          `fakeDiscord: ${where} has no option "${name}" (registered: ${defs.map((o) => o.name).join(', ') || 'none'})`,
        );
      const option = this.optionPayload(name, value, optDef, guild, channel, member, resolved, name === focused, where);
      return option;
    });
    if (defs && focused === undefined) {
      for (const o of defs) {
        if (o.required === true && !(o.name in (init.options ?? {}))) {
          throw new Error(
            `fakeDiscord: ${where}: required option "${o.name}" missing (Discord's client would not send this)`,
          );
        }
      }
    }
    if (focused !== undefined) {
      const optDef = defs?.find((o) => o.name === focused);
      if (!(focused in (init.options ?? {})))
        throw new Error(`fakeDiscord: ${where}: focused option "${focused}" needs a value in options`);
      if (optDef && optDef.autocomplete !== true)
        throw new Error(`fakeDiscord: ${where}: option "${focused}" is not registered with autocomplete`);
    }

    let options: Json[] = leaf;
    if (init.subcommand !== undefined) options = [{ type: 1, name: init.subcommand, options }];
    if (init.subcommandGroup !== undefined) options = [{ type: 2, name: init.subcommandGroup, options }];
    const data: Json = { id: def?.id ?? snowflake(), name: init.name, type: 1 };
    if (def?.guild_id !== undefined) data['guild_id'] = def.guild_id;
    if (options.length > 0) data['options'] = options;
    const usedResolved = Object.fromEntries(Object.entries(resolved).filter(([, v]) => Object.keys(v).length > 0));
    if (Object.keys(usedResolved).length > 0) data['resolved'] = usedResolved;
    return this.createInteraction({
      type: focused === undefined ? 2 : 4,
      guild,
      channel,
      member,
      data,
      locale: init.locale,
      commandName: init.name,
    });
  }

  private optionPayload(
    name: string,
    value: OptionValue,
    def: CommandOptionDef | undefined,
    guild: FakeGuild,
    channel: FakeChannel,
    invoker: FakeMember,
    resolved: { users: Json; members: Json; channels: Json; roles: Json },
    focused: boolean,
    where: string,
  ): Json {
    const inferred =
      typeof value === 'string'
        ? 3
        : typeof value === 'boolean'
          ? 5
          : typeof value === 'number'
            ? Number.isInteger(value)
              ? 4
              : 10
            : 'user' in value
              ? 6
              : 'channel' in value
                ? 7
                : 8;
    const type = def?.type ?? inferred;
    const option: Json = { name, type };
    if (focused) option['focused'] = true;
    const idOf = (key: 'user' | 'channel' | 'role'): string => {
      if (typeof value === 'string') return value;
      if (typeof value === 'object' && key in value) {
        const v = (value as Record<string, unknown>)[key];
        return typeof v === 'string' ? v : (v as FakeUser).id;
      }
      throw new Error(`fakeDiscord: ${where} option "${name}" is type ${type}; pass { ${key}: ... }`);
    };
    switch (type) {
      case 3:
      case 4:
      case 10:
      case 5: {
        if (typeof value === 'object')
          throw new Error(`fakeDiscord: ${where} option "${name}" is type ${type}; pass a plain value`);
        // Autocomplete sends what the member has typed so far, which for number options may still be a string.
        option['value'] = focused ? value : type === 3 ? String(value) : type === 5 ? Boolean(value) : Number(value);
        if (!focused && def) this.checkOptionLimits(def, option['value'] as string | number | boolean, where);
        break;
      }
      case 6:
      case 9: {
        const isRole = typeof value === 'object' && 'role' in value;
        if (type === 9 && isRole) {
          const roleId = idOf('role');
          resolved.roles[roleId] = clone(this.requireRole(guild, roleId));
          option['value'] = roleId;
          break;
        }
        const userId = idOf('user');
        const user = typeof value === 'object' && 'user' in value ? value.user : this.users.get(userId);
        if (!user) throw new Error(`fakeDiscord: ${where} option "${name}": unknown user ${userId}`);
        this.users.set(user.id, user);
        resolved.users[user.id] = clone(user);
        const inGuild = !(typeof value === 'object' && 'inGuild' in value && value.inGuild === false);
        if (inGuild) {
          const member = guild.members.find((m) => m.user.id === user.id) ?? this.addMember(guild.id, user);
          resolved.members[user.id] = {
            ...memberWithoutUser(member),
            permissions: channelPermissions(guild, channel, member).toString(),
          };
        }
        option['value'] = user.id;
        break;
      }
      case 7: {
        const target = this.channels.get(idOf('channel'));
        if (!target || target.guild_id !== guild.id)
          throw new Error(`fakeDiscord: ${where} option "${name}": no channel ${idOf('channel')} in this guild`);
        resolved.channels[target.id] = {
          id: target.id,
          name: target.name,
          type: target.type,
          guild_id: guild.id,
          parent_id: target.parent_id,
          flags: target.flags,
          permissions: channelPermissions(guild, target, invoker).toString(),
        };
        option['value'] = target.id;
        break;
      }
      case 8: {
        const roleId = idOf('role');
        resolved.roles[roleId] = clone(this.requireRole(guild, roleId));
        option['value'] = roleId;
        break;
      }
      default:
        throw new Error(`fakeDiscord: ${where} option "${name}": option type ${type} is not supported by the fake`);
    }
    return option;
  }

  /** What Discord's client enforces before it sends: choices, min/max value and length. */
  private checkOptionLimits(def: CommandOptionDef, value: string | number | boolean, where: string): void {
    const fail = (why: string): never => {
      throw new Error(
        `fakeDiscord: ${where} option "${def.name}" = ${JSON.stringify(value)}: ${why} (Discord's client would not send this)`,
      );
    };
    if (def.choices && !def.choices.some((c) => c.value === value)) {
      fail(`must be one of ${def.choices.map((c) => JSON.stringify(c.value)).join(', ')}`);
    }
    const num = (k: string): number | undefined => (typeof def[k] === 'number' ? def[k] : undefined);
    if (typeof value === 'number') {
      const min = num('min_value');
      const max = num('max_value');
      if (min !== undefined && value < min) fail(`below min_value ${min}`);
      if (max !== undefined && value > max) fail(`above max_value ${max}`);
    }
    if (typeof value === 'string') {
      const min = num('min_length');
      const max = num('max_length');
      if (min !== undefined && [...value].length < min) fail(`shorter than min_length ${min}`);
      if (max !== undefined && [...value].length > max) fail(`longer than max_length ${max}`);
    }
  }

  private requireRole(guild: FakeGuild, roleId: string): FakeRole {
    const role = guild.roles.find((r) => r.id === roleId);
    if (!role) throw new Error(`fakeDiscord: no role ${roleId} in guild ${guild.id}`);
    return role;
  }

  private createInteraction(args: {
    type: number;
    guild: FakeGuild;
    channel: FakeChannel;
    member: FakeMember;
    data: Json;
    locale: string | undefined;
    message?: FakeMessage | undefined;
    commandName?: string;
  }): InteractionRecord {
    const { guild, channel, member } = args;
    const id = snowflake();
    // Real tokens are base64 of `interaction:<id>:<secret>`: URL-safe, so they travel in paths unescaped.
    const token = Buffer.from(`interaction:${id}:${randomBytes(48).toString('base64url')}`).toString('base64url');
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type: args.type,
      token,
      version: 1,
      guild_id: guild.id,
      guild: { id: guild.id, locale: 'en-US', features: [] },
      channel_id: channel.id,
      channel: {
        id: channel.id,
        type: channel.type,
        guild_id: guild.id,
        name: channel.name,
        position: channel.position,
        parent_id: channel.parent_id,
        topic: channel.topic,
        nsfw: channel.nsfw,
        flags: channel.flags,
        rate_limit_per_user: channel.rate_limit_per_user,
        last_message_id: channel.last_message_id,
        permissions: channelPermissions(guild, channel, member).toString(),
      },
      member: { ...clone(member), permissions: channelPermissions(guild, channel, member).toString() },
      app_permissions: channelPermissions(guild, channel, this.botMember(guild)).toString(),
      locale: args.locale ?? 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024,
      data: args.data,
    };
    if (args.message) payload['message'] = this.messageApi(args.message);
    const rec: InteractionRecord = {
      id,
      token,
      type: args.type,
      createdAt: Date.now(),
      guild,
      channel,
      user: member.user,
      payload,
      commandName: args.commandName,
      callbackType: undefined,
      original: undefined,
      componentMessage: args.message,
      loading: false,
      ephemeral: false,
      awaitingUpdate: false,
      messageIds: new Set(),
      responses: [],
      cursor: 0,
      choices: undefined,
      modal: undefined,
    };
    this.interactions.set(id, rec);
    this.interactionsByToken.set(token, rec);
    this.gateway.dispatch('INTERACTION_CREATE', payload);
    this.changed();
    return rec;
  }

  private handle(rec: InteractionRecord): FakeInteraction {
    const label = (): string =>
      `${rec.commandName !== undefined ? `/${rec.commandName}` : `interaction type ${rec.type}`} (callback so far: ${rec.callbackType ?? 'none'}, gateway connected: ${this.gateway.connected})`;
    const reply = (timeoutMs = 10_000): Promise<FakeMessage> =>
      this.waitUntil(
        () => {
          const first = rec.responses[0];
          if (first) rec.cursor = Math.max(rec.cursor, 1);
          return first;
        },
        timeoutMs,
        () => `a visible reply to ${label()}`,
      );
    const nextUpdate = (timeoutMs = 10_000): Promise<FakeMessage> =>
      this.waitUntil(
        () => {
          const next = rec.responses[rec.cursor];
          if (next) rec.cursor++;
          return next;
        },
        timeoutMs,
        () => `update #${rec.cursor + 1} to ${label()}`,
      );
    const acknowledged = (timeoutMs = 10_000): Promise<number> =>
      this.waitUntil(
        () => rec.callbackType,
        timeoutMs,
        () => `the bot to acknowledge ${label()}`,
      );
    return {
      id: rec.id,
      token: rec.token,
      type: rec.type,
      payload: rec.payload,
      get responses() {
        return rec.responses;
      },
      get callbackType() {
        return rec.callbackType;
      },
      get deferred() {
        return rec.callbackType === 5 || rec.callbackType === 6;
      },
      get ephemeral() {
        return rec.ephemeral;
      },
      get modal() {
        return rec.modal;
      },
      reply,
      nextUpdate,
      acknowledged,
    };
  }

  private pushResponse(rec: InteractionRecord, message: FakeMessage): void {
    rec.responses.push(clone(message));
    this.changed();
  }

  interactionCallback(
    id: string,
    token: string,
    body: unknown,
    files: UploadedFile[],
  ): { rec: InteractionRecord; message?: FakeMessage } {
    const rec = this.interactions.get(id);
    if (!rec || rec.token !== token) throw err.unknownInteraction();
    if (rec.callbackType !== undefined) throw err.alreadyAcknowledged();
    const window = this.opts.interactionResponseWindowMs;
    if (window > 0 && Date.now() - rec.createdAt > window) throw err.unknownInteraction();
    const b = isObject(body) ? body : {};
    const type = b['type'];
    const data = isObject(b['data']) ? b['data'] : {};
    const invalidType = (): ApiError => {
      const e = new FormErrors();
      e.add(
        ['type'],
        'INTERACTION_RESPONSE_TYPE_INVALID',
        `Interaction response type ${String(type)} is not valid for interaction type ${rec.type}`,
      );
      return new ApiError(400, 50035, 'Invalid Form Body', e.tree);
    };
    const component = rec.componentMessage;
    let message: FakeMessage | undefined;
    switch (type) {
      case 4: {
        if (rec.type === 4) throw invalidType();
        validateMessageBody(data, { creating: true, files: files.length });
        const ephemeral = ((typeof data['flags'] === 'number' ? data['flags'] : 0) & MessageFlag.Ephemeral) !== 0;
        message = this.createMessage({
          channel: rec.channel,
          body: data,
          files,
          author: this.botUser,
          ephemeral,
          interaction: rec,
        });
        rec.original = message;
        rec.ephemeral = ephemeral;
        rec.callbackType = 4;
        this.pushResponse(rec, message);
        break;
      }
      case 5: {
        if (rec.type === 4) throw invalidType();
        const ephemeral = ((typeof data['flags'] === 'number' ? data['flags'] : 0) & MessageFlag.Ephemeral) !== 0;
        message = this.createMessage({
          channel: rec.channel,
          body: { content: '' },
          files: [],
          author: this.botUser,
          ephemeral,
          loading: true,
          interaction: rec,
        });
        rec.original = message;
        rec.ephemeral = ephemeral;
        rec.loading = true;
        rec.callbackType = 5;
        break;
      }
      case 6:
      case 7: {
        if (!component || (rec.type !== 3 && rec.type !== 5)) throw invalidType();
        rec.original = component;
        rec.ephemeral = component.ephemeral;
        if (type === 7) {
          validateMessageBody(data, { creating: false, files: files.length });
          this.editMessage(component, data, files);
          rec.callbackType = 7;
          this.pushResponse(rec, component);
        } else {
          rec.awaitingUpdate = true;
          rec.callbackType = 6;
        }
        message = component;
        break;
      }
      case 8: {
        if (rec.type !== 4) throw invalidType();
        const choices = Array.isArray(data['choices']) ? data['choices'].filter(isObject) : [];
        const errors = new FormErrors();
        if (choices.length > 25)
          errors.add(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
        choices.forEach((c, i) => {
          const n = typeof c['name'] === 'string' ? [...c['name']].length : 0;
          if (n < 1 || n > 100)
            errors.add(['data', 'choices', i, 'name'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
          if (typeof c['value'] === 'string' && c['value'].length > 100) {
            errors.add(['data', 'choices', i, 'value'], 'BASE_TYPE_MAX_LENGTH', 'Must be 100 or fewer in length.');
          }
        });
        errors.throwIfAny();
        rec.choices = choices.map((c) => ({ name: String(c['name']), value: c['value'] as string | number }));
        rec.callbackType = 8;
        break;
      }
      case 9: {
        if (rec.type !== 2 && rec.type !== 3) throw invalidType();
        const errors = new FormErrors();
        if (typeof data['custom_id'] !== 'string' || data['custom_id'].length < 1 || data['custom_id'].length > 100) {
          errors.add(['data', 'custom_id'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
        }
        if (typeof data['title'] !== 'string' || [...data['title']].length < 1 || [...data['title']].length > 45) {
          errors.add(['data', 'title'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 45 in length.');
        }
        if (!Array.isArray(data['components']) || data['components'].length < 1 || data['components'].length > 5) {
          errors.add(['data', 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 5 in length.');
        }
        errors.throwIfAny();
        rec.modal = clone(data);
        rec.callbackType = 9;
        break;
      }
      case 12: {
        // LAUNCH_ACTIVITY: Discord opens the app's Activity for the member; no message.
        if (rec.type !== 2 && rec.type !== 3 && rec.type !== 5) throw invalidType();
        rec.callbackType = 12;
        break;
      }
      default:
        throw invalidType();
    }
    this.changed();
    return message ? { rec, message } : { rec };
  }

  interactionByWebhook(appId: string, token: string): InteractionRecord {
    const rec = this.interactionsByToken.get(token);
    if (!rec || appId !== this.applicationId) throw err.unknownWebhook();
    return rec;
  }

  webhookMessage(rec: InteractionRecord, messageId: string): FakeMessage {
    const m =
      messageId === '@original'
        ? rec.original
        : rec.messageIds.has(messageId)
          ? this.messagesById.get(messageId)
          : undefined;
    if (!m || !this.messagesById.has(m.id)) throw err.unknownMessage();
    return m;
  }

  webhookEdit(rec: InteractionRecord, messageId: string, body: Json, files: UploadedFile[]): FakeMessage {
    const message = this.webhookMessage(rec, messageId);
    validateMessageBody(body, { creating: false, files: files.length });
    this.editMessage(message, body, files);
    if (message === rec.original) rec.loading = false;
    rec.awaitingUpdate = false;
    this.pushResponse(rec, message);
    return message;
  }

  webhookDelete(rec: InteractionRecord, messageId: string): void {
    const message = this.webhookMessage(rec, messageId);
    this.deleteMessage(message);
    // Deleting the "thinking" message resolves the loading state: the next follow-up is a message of its own.
    if (message === rec.original) rec.loading = false;
  }

  followUp(rec: InteractionRecord, body: Json, files: UploadedFile[]): FakeMessage {
    if (rec.callbackType === undefined || rec.callbackType === 8 || rec.callbackType === 9) throw err.unknownWebhook();
    validateMessageBody(body, { creating: true, files: files.length });
    if (rec.loading && rec.original) {
      // Discord's documented quirk: after a deferral the first follow-up replaces the "thinking" message,
      // and it keeps the deferral's visibility whatever flags the follow-up asks for.
      const original = rec.original;
      this.editMessage(original, { ...body, flags: original.flags }, files);
      rec.loading = false;
      this.pushResponse(rec, original);
      return original;
    }
    const ephemeral = ((typeof body['flags'] === 'number' ? body['flags'] : 0) & MessageFlag.Ephemeral) !== 0;
    const message = this.createMessage({
      channel: rec.channel,
      body,
      files,
      author: this.botUser,
      ephemeral,
      interaction: rec,
    });
    rec.awaitingUpdate = false;
    this.pushResponse(rec, message);
    return message;
  }

  /** A channel-route edit of a message a deferred update (6) is waiting on counts as that update. */
  noteChannelEdit(message: FakeMessage): void {
    for (const rec of this.interactions.values()) {
      if (rec.awaitingUpdate && rec.componentMessage?.id === message.id) {
        rec.awaitingUpdate = false;
        this.pushResponse(rec, message);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Faults and rate limits

  failRoute(method: string, pathPattern: RegExp | string, fault: FaultInit): void {
    this.faults.push({
      ...fault,
      method: method.toUpperCase(),
      match: pathMatcher(pathPattern),
      remaining: fault.times ?? Number.POSITIVE_INFINITY,
    });
  }

  holdAnswer(method: string, pathPattern: RegExp | string): { processed: Promise<RecordedRequest>; release(): void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const processed = new Promise<RecordedRequest>((resolve) =>
      this.holds.push({
        method: method.toUpperCase(),
        match: pathMatcher(pathPattern),
        used: false,
        processed: resolve,
        released,
      }),
    );
    return { processed, release };
  }

  clearFaults(): void {
    this.faults.length = 0;
    this.holds.length = 0;
  }

  setGlobalRateLimit(perSecond: number): void {
    this.opts.globalRateLimit = perSecond;
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (f.method === '*' || f.method === method) && f.match(path),
    );
    if (fault) fault.remaining--;
    return fault;
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname.startsWith('/attachments/')) return this.serveAttachment(url.pathname, res);
    const apiPrefix = '/api/v10';
    const { body, files } = await readBody(req);
    const path = url.pathname.startsWith(`${apiPrefix}/`) ? url.pathname.slice(apiPrefix.length) : url.pathname;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const record: RecordedRequest = {
      method,
      path,
      query: url.search.replace(/^\?/, ''),
      body,
      files: files.map(({ data: _data, ...meta }) => meta),
      headers,
      status: 0,
      at: Date.now(),
    };
    this.requests.push(record);

    const reply = (status: number, payload: unknown, extra: Record<string, string> = {}): void => {
      record.status = status;
      const out: Record<string, string> = { via: '1.1 fake-discord', ...extra };
      if (status === 204 || payload === undefined) res.writeHead(status, out).end();
      else res.writeHead(status, { ...out, 'content-type': 'application/json' }).end(JSON.stringify(payload));
      this.changed();
    };

    if (!url.pathname.startsWith(`${apiPrefix}/`)) return reply(404, { message: '404: Not Found', code: 0 });

    const exempt = path.startsWith('/interactions/') || /^\/webhooks\/[^/]+\/[^/]+/.test(path);
    let matched: { route: Route; params: Record<string, string> } | undefined;
    let pathKnown = false;
    for (const route of this.routes) {
      const params = route.match(path);
      if (!params) continue;
      pathKnown = true;
      if (route.method === method) {
        matched = { route, params };
        break;
      }
    }
    const needsAuth = matched ? matched.route.auth : !exempt;
    if (needsAuth && headers['authorization'] !== `Bot ${this.token}`) return reply(401, err.unauthorized().toBody());

    const now = Date.now();
    if (!exempt && this.opts.globalRateLimit > 0) {
      while (this.globalHits.length > 0 && this.globalHits[0]! <= now - 1000) this.globalHits.shift();
      if (this.globalHits.length >= this.opts.globalRateLimit) {
        const retryAfter = Math.max(0.001, (this.globalHits[0]! + 1000 - now) / 1000);
        this.rateLimited429s++;
        return reply(
          429,
          { message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: true },
          { 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' },
        );
      }
      this.globalHits.push(now);
    }

    const bucket = bucketRoute(method, path);
    let state = this.buckets.get(bucket.key);
    if (!state || now - state.start >= 1000) this.buckets.set(bucket.key, (state = { start: now, count: 0 }));
    state.count++;
    const limit = this.opts.routeRateLimit;
    const resetAfter = (state.start + 1000 - now) / 1000;
    const rl: Record<string, string> = {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - state.count)),
      'x-ratelimit-reset': ((state.start + 1000) / 1000).toFixed(3),
      'x-ratelimit-reset-after': resetAfter.toFixed(3),
      'x-ratelimit-bucket': bucketHash(bucket.route),
    };
    if (state.count > limit) {
      this.rateLimited429s++;
      return reply(
        429,
        { message: 'You are being rate limited.', retry_after: Number(resetAfter.toFixed(3)), global: false },
        { ...rl, 'retry-after': String(Math.ceil(resetAfter)), 'x-ratelimit-scope': 'user' },
      );
    }

    const fault = this.takeFault(method, path);
    if (fault) {
      const code = fault.code ?? 0;
      const message = fault.message ?? KNOWN_MESSAGES[code] ?? `${fault.status}: fake fault`;
      if (fault.status === 429) {
        this.rateLimited429s++;
        const retryAfter = fault.retryAfter ?? 1;
        return reply(
          429,
          {
            message: fault.message ?? 'You are being rate limited.',
            retry_after: retryAfter,
            global: false,
            ...(fault.code !== undefined ? { code } : {}),
          },
          { ...rl, 'retry-after': String(Math.ceil(retryAfter)), 'x-ratelimit-scope': 'shared' },
        );
      }
      return reply(fault.status, { message, code }, rl);
    }

    if (!matched)
      return reply(pathKnown ? 405 : 404, (pathKnown ? err.methodNotAllowed() : err.notFound()).toBody(), rl);
    const ctx: RouteContext = {
      params: matched.params,
      query: url.searchParams,
      body: isObject(body) ? body : {},
      rawBody: body,
      files,
      headers,
    };
    try {
      const result = await matched.route.handler(ctx);
      await this.holdBack(method, path, record, req);
      reply(result.status, result.body, rl);
    } catch (e) {
      if (e instanceof ApiError) return reply(e.status, e.toBody(), rl);
      this.internalErrors.push(e instanceof Error ? e : new Error(String(e)));
      reply(500, { message: '500: Internal Server Error', code: 0 }, rl);
    }
  }

  /** Keeps a processed call's answer back while a hold on it lasts: until released or the client hangs up. */
  private async holdBack(method: string, path: string, record: RecordedRequest, req: IncomingMessage): Promise<void> {
    const hold = this.holds.find((h) => !h.used && h.method === method && h.match(path));
    if (!hold) return;
    hold.used = true;
    hold.processed(record);
    const { socket } = req;
    if (socket.destroyed) return;
    await Promise.race([hold.released, new Promise<void>((resolve) => socket.once('close', () => resolve()))]);
  }

  private serveAttachment(pathname: string, res: ServerResponse): void {
    const id = pathname.split('/')[3] ?? '';
    const file = this.attachmentData.get(id);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.data.length) }).end(file.data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const fail of [...this.pendingWaits]) fail(new Error('fakeDiscord: closed while waiting'));
    await this.gateway.close();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

/** failRoute's and holdAnswer's path patterns: an exact path, a `/channels/:id/messages` template or a RegExp. */
function pathMatcher(pathPattern: RegExp | string): (path: string) => boolean {
  if (typeof pathPattern !== 'string') return (p) => pathPattern.test(p);
  if (!pathPattern.includes(':')) return (p) => p === pathPattern;
  const re = new RegExp(`^${pathPattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}$`);
  return (p) => re.test(p);
}

/** Discord's shape for a member nested under something that already names the user. */
function memberWithoutUser(member: FakeMember): Json {
  const rest: Json = clone({ ...member });
  delete rest['user'];
  return rest;
}

function normalizeOverwrite(o: OverwriteInit): PermissionOverwrite {
  return {
    id: o.id,
    type: o.type ?? 0,
    allow: BigInt(o.allow ?? 0n).toString(),
    deny: BigInt(o.deny ?? 0n).toString(),
  };
}

function findComponent(components: FakeComponent[], customId: string): FakeComponent | undefined {
  for (const c of components) {
    if (c.custom_id === customId) return c;
    const accessory = c['accessory'];
    if (isObject(accessory) && accessory['custom_id'] === customId) return accessory as FakeComponent;
    if (Array.isArray(c.components)) {
      const inner = findComponent(c.components, customId);
      if (inner) return inner;
    }
  }
  return undefined;
}

function bucketHash(route: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < route.length; i++) h = Math.imul(h ^ route.charCodeAt(i), 0x01000193) >>> 0;
  return `fake${h.toString(16).padStart(8, '0')}`;
}
