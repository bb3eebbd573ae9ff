// Guild Scheduled Events in the fake: the REST routes under /guilds/:guild/scheduled-events, the rules
// Discord enforces on them (name ≤ 100, description ≤ 1000, location ≤ 100, start in the future, end
// after start, the status machine SCHEDULED → ACTIVE → COMPLETED and SCHEDULED → CANCELED, the
// permissions to create and edit), and the GUILD_SCHEDULED_EVENT_* dispatches, so that what a member
// does to an event "in Discord" (a test marking interest, or cancelling) reaches the bot.
import { PermissionFlagsBits } from 'discord.js';
import { ApiError, FormErrors, err } from './errors.js';
import { basePermissions, channelPermissions } from './permissions.js';
import type { Route } from './rest.js';
import type { FakeDiscordServer } from './server.js';
import { snowflake } from './snowflake.js';
import type { FakeGuild, FakeUser } from './types.js';

type Json = Record<string, unknown>;
const P = PermissionFlagsBits;

/** GatewayIntentBits.GuildScheduledEvents (not privileged). */
export const SCHEDULED_EVENTS_INTENT = 1 << 16;

export const EventStatus = { Scheduled: 1, Active: 2, Completed: 3, Canceled: 4 } as const;
export const EntityType = { Stage: 1, Voice: 2, External: 3 } as const;

/** Discord's limits (https://discord.com/developers/docs/resources/guild-scheduled-event). */
export const EVENT_LIMITS = { name: 100, description: 1000, location: 100, uncompletedPerGuild: 100 } as const;

/** A scheduled event as Discord serves it. */
export interface FakeScheduledEvent {
  id: string;
  guild_id: string;
  channel_id: string | null;
  creator_id: string;
  creator: FakeUser;
  name: string;
  description: string | null;
  scheduled_start_time: string;
  scheduled_end_time: string | null;
  privacy_level: number;
  status: number;
  entity_type: number;
  entity_id: string | null;
  entity_metadata: { location: string } | null;
  user_count: number;
  image: string | null;
  recurrence_rule: null;
}

const TRANSITIONS: Record<number, number[]> = {
  [EventStatus.Scheduled]: [EventStatus.Active, EventStatus.Canceled],
  [EventStatus.Active]: [EventStatus.Completed],
};

export class FakeScheduledEvents {
  private readonly byGuild = new Map<string, FakeScheduledEvent[]>();
  /** event id → users who pressed Interested */
  private readonly interested = new Map<string, Set<string>>();

  constructor(private readonly f: FakeDiscordServer) {}

  list(guildId: string): FakeScheduledEvent[] {
    return this.byGuild.get(guildId) ?? [];
  }

  find(guildId: string, eventId: string): FakeScheduledEvent {
    const event = this.list(guildId).find((e) => e.id === eventId);
    if (!event) throw new ApiError(404, 10070, 'Unknown Guild Scheduled Event');
    return event;
  }

  /** A member presses Interested (GUILD_SCHEDULED_EVENT_USER_ADD). */
  markInterested(guildId: string, eventId: string, user: FakeUser): void {
    const event = this.find(guildId, eventId);
    const users = this.interested.get(eventId) ?? new Set<string>();
    this.interested.set(eventId, users);
    if (users.has(user.id)) return;
    users.add(user.id);
    this.f.users.set(user.id, user);
    event.user_count = users.size;
    this.f.gateway.dispatch(
      'GUILD_SCHEDULED_EVENT_USER_ADD',
      { guild_scheduled_event_id: eventId, user_id: user.id, guild_id: guildId },
      SCHEDULED_EVENTS_INTENT,
    );
    this.f.changed();
  }

  /** A moderator changes an event in Discord's client (cancel: `{ status: 4 }`), bypassing the bot. */
  editAsUser(guildId: string, eventId: string, body: Json): FakeScheduledEvent {
    const event = this.find(guildId, eventId);
    this.apply(this.f.guild(guildId), event, body);
    return event;
  }

  /** A moderator deletes an event in Discord's client. */
  deleteAsUser(guildId: string, eventId: string): void {
    const event = this.find(guildId, eventId);
    this.remove(event);
  }

  forgetGuild(guildId: string): void {
    this.byGuild.delete(guildId);
  }

  private remove(event: FakeScheduledEvent): void {
    this.byGuild.set(
      event.guild_id,
      this.list(event.guild_id).filter((e) => e !== event),
    );
    this.f.gateway.dispatch('GUILD_SCHEDULED_EVENT_DELETE', structuredClone(event), SCHEDULED_EVENTS_INTENT);
    this.f.changed();
  }

  /** Create and Manage Events, checked where Discord checks them: the guild, or the voice channel. */
  private assertCanManage(guild: FakeGuild, channelId: string | null, event?: FakeScheduledEvent): void {
    const me = this.f.botMember(guild);
    const perms = channelId ? channelPermissions(guild, this.f.channel(channelId), me) : basePermissions(guild, me);
    const own = !event || event.creator_id === this.f.botUser.id;
    const may = perms & P.ManageEvents || (own && perms & P.CreateEvents);
    if (!may) throw err.missingPermissions();
    if (channelId && (!(perms & P.ViewChannel) || !(perms & P.Connect))) throw err.missingPermissions();
  }

  create(guild: FakeGuild, body: Json): FakeScheduledEvent {
    const errors = new FormErrors();
    const entityType = body['entity_type'];
    if (entityType !== EntityType.External && entityType !== EntityType.Voice && entityType !== EntityType.Stage) {
      errors.add(['entity_type'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3).');
    }
    if (typeof body['name'] !== 'string') errors.add(['name'], 'BASE_TYPE_REQUIRED', 'This field is required');
    if (body['privacy_level'] !== 2) errors.add(['privacy_level'], 'BASE_TYPE_CHOICES', 'Value must be one of (2,).');
    if (typeof body['scheduled_start_time'] !== 'string')
      errors.add(['scheduled_start_time'], 'BASE_TYPE_REQUIRED', 'This field is required');
    errors.throwIfAny();
    const draft: FakeScheduledEvent = {
      id: snowflake(),
      guild_id: guild.id,
      channel_id: null,
      creator_id: this.f.botUser.id,
      creator: structuredClone(this.f.botUser),
      name: '',
      description: null,
      scheduled_start_time: '',
      scheduled_end_time: null,
      privacy_level: 2,
      status: EventStatus.Scheduled,
      entity_type: entityType as number,
      entity_id: null,
      entity_metadata: null,
      user_count: 0,
      image: null,
      recurrence_rule: null,
    };
    const next = this.validated(guild, draft, body, true);
    this.assertCanManage(guild, next.channel_id);
    const open = this.list(guild.id).filter((e) => e.status <= EventStatus.Active).length;
    if (open >= EVENT_LIMITS.uncompletedPerGuild) {
      throw new ApiError(400, 30038, 'Maximum number of uncompleted guild scheduled events reached (100)');
    }
    this.byGuild.set(guild.id, [...this.list(guild.id), next]);
    this.f.gateway.dispatch('GUILD_SCHEDULED_EVENT_CREATE', structuredClone(next), SCHEDULED_EVENTS_INTENT);
    this.f.changed();
    return next;
  }

  edit(guild: FakeGuild, event: FakeScheduledEvent, body: Json): FakeScheduledEvent {
    this.assertCanManage(guild, event.channel_id, event);
    return this.apply(guild, event, body);
  }

  delete(guild: FakeGuild, event: FakeScheduledEvent): void {
    this.assertCanManage(guild, event.channel_id, event);
    this.remove(event);
  }

  private apply(guild: FakeGuild, event: FakeScheduledEvent, body: Json): FakeScheduledEvent {
    if (event.status === EventStatus.Completed || event.status === EventStatus.Canceled) {
      throw new ApiError(400, 180000, 'Cannot update a finished event');
    }
    const next = this.validated(guild, event, body, false);
    Object.assign(event, next);
    this.f.gateway.dispatch('GUILD_SCHEDULED_EVENT_UPDATE', structuredClone(event), SCHEDULED_EVENTS_INTENT);
    this.f.changed();
    return event;
  }

  /** The event `body` makes of `base`, or 50035 naming every broken rule. */
  private validated(guild: FakeGuild, base: FakeScheduledEvent, body: Json, creating: boolean): FakeScheduledEvent {
    const errors = new FormErrors();
    const next: FakeScheduledEvent = structuredClone(base);
    const text = (key: string, max: number, min: number): string | null | undefined => {
      const value = body[key];
      if (value === undefined) return undefined;
      if (value === null && min === 0) return null;
      if (typeof value !== 'string') {
        errors.add([key], 'BASE_TYPE_STRING', 'Must be a string.');
        return undefined;
      }
      const length = [...value].length;
      if (length < min || length > max) {
        errors.add([key], 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);
      }
      return value;
    };
    const name = text('name', EVENT_LIMITS.name, 1);
    if (typeof name === 'string') next.name = name;
    const description = text('description', EVENT_LIMITS.description, 0);
    if (description !== undefined) next.description = description || null;
    if (body['entity_type'] !== undefined) next.entity_type = body['entity_type'] as number;
    if (body['channel_id'] !== undefined) next.channel_id = (body['channel_id'] as string | null) ?? null;
    if (body['entity_metadata'] !== undefined) {
      const metadata = body['entity_metadata'] as Json | null;
      if (metadata === null) next.entity_metadata = null;
      else {
        const location = metadata['location'];
        if (typeof location !== 'string' || [...location].length < 1 || [...location].length > EVENT_LIMITS.location) {
          errors.add(
            ['entity_metadata', 'location'],
            'BASE_TYPE_BAD_LENGTH',
            `Must be between 1 and ${EVENT_LIMITS.location} in length.`,
          );
        } else next.entity_metadata = { location };
      }
    }
    const time = (key: 'scheduled_start_time' | 'scheduled_end_time'): number | null | undefined => {
      const value = body[key];
      if (value === undefined) return undefined;
      if (value === null) return null;
      const ms = typeof value === 'string' ? Date.parse(value) : NaN;
      if (!Number.isFinite(ms)) {
        errors.add([key], 'DATE_TIME_TYPE_PARSE', 'Could not interpret the value as a date.');
        return undefined;
      }
      next[key] = new Date(ms).toISOString();
      return ms;
    };
    const start = time('scheduled_start_time');
    const end = time('scheduled_end_time');
    if (end === null) next.scheduled_end_time = null;
    if (start !== undefined && start !== null && start !== Date.parse(base.scheduled_start_time)) {
      if (base.status === EventStatus.Active) {
        errors.add(
          ['scheduled_start_time'],
          'GUILD_SCHEDULED_EVENT_ACTIVE',
          'Cannot change the start of an active event.',
        );
      } else if (start <= Date.now()) {
        errors.add(
          ['scheduled_start_time'],
          'GUILD_SCHEDULED_EVENT_SCHEDULE_PAST',
          'Cannot schedule event in the past.',
        );
      }
    }
    if (next.scheduled_end_time && Date.parse(next.scheduled_end_time) <= Date.parse(next.scheduled_start_time)) {
      errors.add(
        ['scheduled_end_time'],
        'GUILD_SCHEDULED_EVENT_END_BEFORE_START',
        'The end time must be after the start time.',
      );
    }
    if (next.entity_type === EntityType.External) {
      if (next.channel_id !== null) errors.add(['channel_id'], 'BASE_TYPE_NULL', 'Must be null for external events.');
      if (!next.entity_metadata)
        errors.add(['entity_metadata', 'location'], 'BASE_TYPE_REQUIRED', 'This field is required');
      if (!next.scheduled_end_time)
        errors.add(['scheduled_end_time'], 'BASE_TYPE_REQUIRED', 'External events need an end time.');
    } else {
      const channel = next.channel_id ? this.f.channels.get(next.channel_id) : undefined;
      const wanted = next.entity_type === EntityType.Voice ? 2 : 13;
      if (!channel || channel.guild_id !== guild.id || channel.type !== wanted) {
        errors.add(['channel_id'], 'CHANNEL_TYPE_INVALID', 'Channel is not of the type the event needs.');
      }
      if (body['entity_metadata'] && next.entity_metadata)
        errors.add(['entity_metadata'], 'BASE_TYPE_NULL', 'Must be null for channel events.');
    }
    const status = body['status'];
    if (status !== undefined) {
      if (creating) errors.add(['status'], 'BASE_TYPE_INVALID', 'Status cannot be set at creation.');
      else if (status !== base.status && !(TRANSITIONS[base.status] ?? []).includes(status as number)) {
        errors.add(
          ['status'],
          'GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION',
          `Cannot go from status ${base.status} to ${JSON.stringify(status)}.`,
        );
      } else next.status = status as number;
    }
    const image = body['image'];
    if (typeof image === 'string') {
      if (!/^data:image\/(png|jpeg|gif|webp);base64,/.test(image))
        errors.add(['image'], 'IMAGE_INVALID', 'Invalid image data');
      else next.image = snowflake();
    } else if (image === null) next.image = null;
    errors.throwIfAny();
    return next;
  }
}

/** The REST routes, added to the fake's route table by rest.ts. */
export function scheduledEventRoutes(
  f: FakeDiscordServer,
  guildFor: (id: string | undefined) => FakeGuild,
): Array<Pick<Route, 'method' | 'pattern' | 'handler'>> {
  const events = f.scheduledEvents;
  const ok = (body: unknown) => ({ status: 200, body });
  const base = '/guilds/:guild/scheduled-events';
  return [
    {
      method: 'GET',
      pattern: base,
      handler: ({ params }) => ok(structuredClone(events.list(guildFor(params['guild']).id))),
    },
    {
      method: 'POST',
      pattern: base,
      handler: ({ params, body }) => ok(structuredClone(events.create(guildFor(params['guild']), body))),
    },
    {
      method: 'GET',
      pattern: `${base}/:event`,
      handler: ({ params }) => ok(structuredClone(events.find(guildFor(params['guild']).id, params['event']!))),
    },
    {
      method: 'PATCH',
      pattern: `${base}/:event`,
      handler: ({ params, body }) => {
        const guild = guildFor(params['guild']);
        return ok(structuredClone(events.edit(guild, events.find(guild.id, params['event']!), body)));
      },
    },
    {
      method: 'DELETE',
      pattern: `${base}/:event`,
      handler: ({ params }) => {
        const guild = guildFor(params['guild']);
        events.delete(guild, events.find(guild.id, params['event']!));
        return { status: 204 };
      },
    },
  ];
}
