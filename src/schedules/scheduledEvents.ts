// The Discord side of scheduled events: what the bot sends to /guilds/{id}/scheduled-events, made to
// fit Discord's rules before it goes (name ≤ 100, description ≤ 1000, location ≤ 100, a start in the
// future, an end after the start), and every call paced through the alerts' delivery queue, behind
// the go-live posts, within the same budget under Discord's global limit.
import {
  DiscordAPIError,
  GuildScheduledEventEntityType,
  GuildScheduledEventPrivacyLevel,
  GuildScheduledEventStatus,
  Routes,
  type APIGuildScheduledEvent,
  type REST,
  type RESTPatchAPIGuildScheduledEventJSONBody,
  type RESTPostAPIGuildScheduledEventJSONBody,
} from 'discord.js';
import { DeliveryQueue } from '../alerts/delivery.js';
import { cleanText } from '../text.js';
import type { CoverFetcher } from './cover.js';

export const EVENT_RULES = { name: 100, description: 1000, location: 100 } as const;
/** A start this close to now could be in the past by the time Discord reads it. */
const MIN_LEAD_MS = 5_000;
const MIN_LENGTH_MS = 60_000;

/** What the bot wants an event to say; clamped to Discord's rules by eventFields. */
export interface EventDraft {
  name: string;
  description: string;
  /** EXTERNAL events: where (a link); VOICE events leave it out and name a channel */
  location?: string | undefined;
  voiceChannelId?: string | undefined;
  startMs: number;
  endMs: number;
  /** The cover: the stream's preview or the creator's avatar (cover.ts reads it when the event is made). */
  imageUrl?: string | undefined;
}

/** The whole text when it fits, else cut at a line break or a space, never mid-character. */
function fit(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return `${chars
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** A link that fits in a location; one that does not is cut back to its origin rather than broken. */
export function fitLocation(url: string): string {
  if ([...url].length <= EVENT_RULES.location) return url;
  try {
    return fit(new URL(url).origin, EVENT_RULES.location);
  } catch {
    return fit(url, EVENT_RULES.location);
  }
}

/**
 * The draft as Discord accepts it: a name of 1–100 visible characters, a description of at most
 * 1000, a location of at most 100, a start at least a few seconds ahead when `future` (creating or
 * moving it), and an end at least a minute after the start.
 */
export function eventFields(
  draft: EventDraft,
  now: number,
  future: boolean,
): Required<Pick<RESTPostAPIGuildScheduledEventJSONBody, 'name' | 'description' | 'scheduled_start_time'>> &
  Pick<
    RESTPostAPIGuildScheduledEventJSONBody,
    'scheduled_end_time' | 'entity_metadata' | 'channel_id' | 'entity_type'
  > {
  const name = cleanText(draft.name, EVENT_RULES.name) || '…';
  const start = future ? Math.max(draft.startMs, now + MIN_LEAD_MS) : draft.startMs;
  const end = Math.max(draft.endMs, start + MIN_LENGTH_MS);
  const voice = draft.voiceChannelId !== undefined;
  return {
    name,
    description: fit(draft.description.trim(), EVENT_RULES.description),
    scheduled_start_time: new Date(start).toISOString(),
    scheduled_end_time: new Date(end).toISOString(),
    entity_type: voice ? GuildScheduledEventEntityType.Voice : GuildScheduledEventEntityType.External,
    ...(voice
      ? { channel_id: draft.voiceChannelId }
      : { entity_metadata: { location: fitLocation(draft.location ?? 'https://parti.com/') } }),
  };
}

export type EventStatusName = 'scheduled' | 'active' | 'completed' | 'canceled';

export const statusCode: Record<EventStatusName, GuildScheduledEventStatus> = {
  scheduled: GuildScheduledEventStatus.Scheduled,
  active: GuildScheduledEventStatus.Active,
  completed: GuildScheduledEventStatus.Completed,
  canceled: GuildScheduledEventStatus.Canceled,
};

export function statusName(status: GuildScheduledEventStatus): EventStatusName {
  switch (status) {
    case GuildScheduledEventStatus.Active:
      return 'active';
    case GuildScheduledEventStatus.Completed:
      return 'completed';
    case GuildScheduledEventStatus.Canceled:
      return 'canceled';
    default:
      return 'scheduled';
  }
}

/** Discord's answer for an event deleted (10070) or already over (180000): nothing left to edit. */
export function isGoneOrFinished(error: unknown): boolean {
  return error instanceof DiscordAPIError && (error.code === 10070 || error.code === 180000);
}

export function eventUrl(guildId: string, eventId: string): string {
  return `https://discord.com/events/${guildId}/${eventId}`;
}

export type ScheduledEventsApi = ReturnType<typeof createScheduledEventsApi>;

/** The calls, each through the queue's 'edit' lane, so a go-live ping never waits behind them. */
export function createScheduledEventsApi(
  rest: REST,
  now: () => number,
  queue = new DeliveryQueue(),
  cover: CoverFetcher = () => Promise.resolve(undefined),
) {
  return {
    list(guildId: string): Promise<APIGuildScheduledEvent[]> {
      return queue.push(
        'edit',
        () => rest.get(Routes.guildScheduledEvents(guildId)) as Promise<APIGuildScheduledEvent[]>,
      );
    },
    async create(guildId: string, draft: EventDraft): Promise<APIGuildScheduledEvent> {
      const image = draft.imageUrl === undefined ? undefined : await cover(draft.imageUrl);
      const body: RESTPostAPIGuildScheduledEventJSONBody = {
        ...eventFields(draft, now(), true),
        privacy_level: GuildScheduledEventPrivacyLevel.GuildOnly,
        ...(image !== undefined && { image }),
      };
      return queue.push(
        'edit',
        () => rest.post(Routes.guildScheduledEvents(guildId), { body }) as Promise<APIGuildScheduledEvent>,
      );
    },
    /**
     * Edits an event. `draft` rewrites its text, place and times (the start only while it is
     * scheduled: `moveStart`); `status` moves it on (scheduled → active → completed, or → canceled).
     */
    edit(
      guildId: string,
      eventId: string,
      change: { draft?: EventDraft; moveStart?: boolean; status?: EventStatusName },
    ): Promise<APIGuildScheduledEvent> {
      const body: RESTPatchAPIGuildScheduledEventJSONBody = {};
      if (change.draft) {
        const fields = eventFields(change.draft, now(), change.moveStart === true);
        Object.assign(body, fields);
        if (!change.moveStart) delete body.scheduled_start_time;
        // A draft without a place leaves the place as it is.
        if (change.draft.location === undefined) delete body.entity_metadata;
        if (change.draft.voiceChannelId === undefined) delete body.channel_id;
        // Only the place may change kind-consistently; the entity type stays what it was made as.
        delete body.entity_type;
      }
      if (change.status) body.status = statusCode[change.status];
      return queue.push(
        'edit',
        () => rest.patch(Routes.guildScheduledEvent(guildId, eventId), { body }) as Promise<APIGuildScheduledEvent>,
      );
    },
  };
}
