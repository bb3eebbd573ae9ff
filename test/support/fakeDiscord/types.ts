// Shapes the fake stores and hands to tests. They follow Discord's wire format (snake_case) so that the
// same objects can be served over REST/gateway and asserted on in tests without translation; the few
// fields that are not Discord's (`ephemeral`, `interactionId`) are stripped before anything is served.
import type { APIEmbed } from 'discord.js';

export interface FakeUser {
  id: string;
  username: string;
  discriminator: string;
  global_name: string | null;
  avatar: string | null;
  bot?: boolean;
  public_flags?: number;
  flags?: number;
}

export interface PermissionOverwrite {
  id: string;
  /** 0 = role, 1 = member */
  type: 0 | 1;
  allow: string;
  deny: string;
}

export interface FakeChannel {
  id: string;
  guild_id: string;
  name: string;
  type: number;
  position: number;
  permission_overwrites: PermissionOverwrite[];
  parent_id: string | null;
  topic: string | null;
  nsfw: boolean;
  rate_limit_per_user: number;
  last_message_id: string | null;
  flags: number;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: string;
  position: number;
  color: number;
  colors: { primary_color: number; secondary_color: number | null; tertiary_color: number | null };
  hoist: boolean;
  icon: string | null;
  unicode_emoji: string | null;
  managed: boolean;
  mentionable: boolean;
  flags: number;
  tags?: { bot_id?: string };
}

export interface FakeMember {
  user: FakeUser;
  roles: string[];
  nick: string | null;
  avatar: string | null;
  joined_at: string;
  premium_since: string | null;
  deaf: boolean;
  mute: boolean;
  flags: number;
  pending: boolean;
  communication_disabled_until: string | null;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  /** The @everyone role's id, which Discord makes equal to the guild id. */
  everyoneRoleId: string;
  /** The managed role Discord gives the bot when it joins; `botPermissions` lives here. */
  botRoleId: string;
  joinedAt: string;
  channels: FakeChannel[];
  roles: FakeRole[];
  members: FakeMember[];
  /** First text channel, or the one with this name. Throws if there is none. */
  channel(name?: string): FakeChannel;
  role(name: string): FakeRole;
}

/** A message component as sent by the bot (action rows nest `components`). */
export interface FakeComponent {
  type: number;
  custom_id?: string;
  label?: string;
  style?: number;
  url?: string;
  disabled?: boolean;
  components?: FakeComponent[];
  options?: Array<{ label: string; value: string; description?: string; default?: boolean }>;
  [key: string]: unknown;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  description?: string;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser;
  content: string;
  embeds: APIEmbed[];
  /**
   * Rows of components as the bot sent them (see FakeComponent for the shape). Typed `any` on purpose:
   * tests walk `components[0].components[2].custom_id` and narrowing every level would drown them.
   */

  components: any[];
  attachments: FakeAttachment[];
  flags: number;
  /** Not Discord's: true when only the invoking member can see it (flag 64). Never in the channel list. */
  ephemeral: boolean;
  allowed_mentions?: unknown;
  mentions: FakeUser[];
  mention_roles: string[];
  mention_everyone: boolean;
  timestamp: string;
  edited_timestamp: string | null;
  /** 0 default, 19 reply, 20 chat-input command response. */
  type: number;
  tts: boolean;
  pinned: boolean;
  nonce?: string | number;
  message_reference?: { message_id?: string; channel_id?: string; guild_id?: string; type?: number };
  webhook_id?: string;
  application_id?: string;
  interaction_metadata?: Record<string, unknown>;
  reactions?: Array<{ emoji: { id: string | null; name: string }; count: number; me: boolean }>;
  /** Not Discord's: the interaction this message answers, if any. */
  interactionId?: string;
}

export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Path below `/api/v10`, e.g. `/channels/123/messages`. */
  path: string;
  /** Query string without the leading `?`. */
  query: string;
  /** Parsed JSON body, or the parsed `payload_json` of a multipart body. */
  body: unknown;
  /** Files of a multipart body (without their bytes). */
  files: Array<Omit<UploadedFile, 'data'>>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** 0 until the fake has answered. */
  status: number;
  at: number;
}

export interface StoredCommand {
  id: string;
  application_id: string;
  version: string;
  type: number;
  name: string;
  description: string;
  guild_id?: string;
  options?: CommandOptionDef[];
  default_member_permissions: string | null;
  nsfw: boolean;
  contexts: number[] | null;
  integration_types: number[];
  [key: string]: unknown;
}

export interface CommandOptionDef {
  type: number;
  name: string;
  description?: string;
  required?: boolean;
  autocomplete?: boolean;
  choices?: Array<{ name: string; value: string | number }>;
  options?: CommandOptionDef[];
  [key: string]: unknown;
}

export type OptionValue =
  | string
  | number
  | boolean
  /** `inGuild: false` leaves the user out of `resolved.members`, as for someone who is not a member. */
  | { user: FakeUser; inGuild?: boolean }
  | { channel: string }
  | { role: string };

export interface InteractionMemberInit {
  guildId: string;
  channelId: string;
  user: FakeUser;
  /**
   * The member's guild-level permissions (granted through a role the fake creates). Default: a regular
   * member (view, send, embed, attach, history, reactions, application commands). Omit for an existing
   * member to keep the roles it already has.
   */
  permissions?: bigint;
  locale?: string;
}

export interface CommandInit extends InteractionMemberInit {
  name: string;
  subcommand?: string;
  subcommandGroup?: string;
  options?: Record<string, OptionValue>;
}

export interface AutocompleteInit extends CommandInit {
  /** Name of the option being typed into. */
  focused: string;
}

export interface ComponentInit {
  message: FakeMessage;
  customId: string;
  user: FakeUser;
  guildId?: string;
  channelId?: string;
  permissions?: bigint;
  locale?: string;
}

export interface SelectInit extends ComponentInit {
  values: string[];
}

export interface ModalSubmitInit extends InteractionMemberInit {
  customId: string;
  fields: Record<string, string>;
  /** The message whose component opened the modal, if it was opened from one. */
  message?: FakeMessage;
}

export interface FaultInit {
  status: number;
  code?: number;
  message?: string;
  /** How many matching requests fail; default: all of them until clearFaults(). */
  times?: number;
  /** For status 429: seconds in `retry_after` / `Retry-After`. */
  retryAfter?: number;
}

export interface FakeInteraction {
  readonly id: string;
  readonly token: string;
  /** 2 command, 3 component, 4 autocomplete, 5 modal submit. */
  readonly type: number;
  /** The payload dispatched in INTERACTION_CREATE. */
  readonly payload: Record<string, unknown>;
  /**
   * The first visible reply: the type 4 message, the PATCH of @original after a deferral (5), the updated
   * message for an update (7), or the first edit after a deferred update (6). Marks it consumed.
   */
  reply(timeoutMs?: number): Promise<FakeMessage>;
  /** The next visible change after those already consumed by reply()/nextUpdate(). */
  nextUpdate(timeoutMs?: number): Promise<FakeMessage>;
  /** Resolves once the bot has answered the callback at all (any type); with its type. */
  acknowledged(timeoutMs?: number): Promise<number>;
  /** Snapshots of every visible change, in order. */
  readonly responses: readonly FakeMessage[];
  readonly callbackType: number | undefined;
  readonly deferred: boolean;
  readonly ephemeral: boolean;
  /** The modal the bot opened (callback type 9), if any. */
  readonly modal: Record<string, unknown> | undefined;
}
