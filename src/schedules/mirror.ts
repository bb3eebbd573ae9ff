// Mirroring Parti's calendar into a guild's Events tab: the entries of the next 14 days that a
// guild's subscriptions match become one Discord event each (the 25 soonest), a moved time or a new
// title edits the event, an entry gone from the calendar cancels it, and past entries are left alone.
// Run on start and every EVENTS_RECONCILE_SECONDS by the one process that delivers go-lives.
//
// Exactly once: the record `event:{guild}:{parti event}` says an event exists. Its description ends
// with a marker naming the Parti event, so an event made just before a crash, whose record never
// got written, is found in the guild's list and adopted instead of made twice.
import type { APIGuildScheduledEvent } from 'discord.js';
import { lookupStrings } from '../lookups/strings.js';
import { creatorUrl } from '../lookups/creators.js';
import type { Logger } from '../logger.js';
import type { PartiClient } from '../parti/client.js';
import type { CalendarEvent } from '../parti/schemas.js';
import type { EventRecord, EventSubscription, ScheduleRecords } from './records.js';
import { isGoneOrFinished, statusName, type EventDraft, type ScheduledEventsApi } from './scheduledEvents.js';
import { eventText } from './strings.js';

export const MIRROR_HORIZON_DAYS = 14;
export const MIRROR_CAP_PER_GUILD = 25;
const DAY = 86_400_000;
const CALENDAR_PAGE = 100;
const CALENDAR_MAX_PAGES = 20;

export interface MirrorOptions {
  records: ScheduleRecords;
  api: ScheduledEventsApi;
  parti: PartiClient;
  log: Logger;
  now: () => number;
  botUserId: () => string | undefined;
  defaultLengthMs: number;
  /** Discord refused for a reason retrying cannot fix: pause the guild (true when it did). */
  refused: (guildId: string, error: unknown) => Promise<boolean>;
}

/** Parti's whole calendar, page by page. */
export async function readCalendar(parti: PartiClient): Promise<CalendarEvent[]> {
  const all: CalendarEvent[] = [];
  for (let page = 0; page < CALENDAR_MAX_PAGES; page += 1) {
    const entries = await parti.getCalendarEvents(
      { offset: page * CALENDAR_PAGE, limit: CALENDAR_PAGE },
      { fresh: true },
    );
    all.push(...entries);
    if (entries.length < CALENDAR_PAGE) break;
  }
  return all;
}

export function matches(
  sub: EventSubscription,
  entry: { user_id?: number | null | undefined; category_id?: number | null | undefined },
): boolean {
  return sub.target.kind === 'creator'
    ? entry.user_id === sub.target.userId
    : entry.category_id === sub.target.categoryId;
}

export function createMirror(options: MirrorOptions) {
  const { records, api, parti, log, now } = options;

  async function creator(userId: number | null | undefined, fallback: string | null | undefined) {
    const profile = userId != null ? await parti.getUserProfile(userId).catch(() => undefined) : undefined;
    const name = profile?.user_name ?? fallback ?? lookupStrings.unnamedCreator(userId ?? 0);
    return {
      name,
      url: (profile && creatorUrl(profile)) ?? creatorUrl({ user_name: name }) ?? 'https://parti.com/',
      avatar: profile?.avatar_link ?? undefined,
    };
  }

  async function draftOf(entry: CalendarEvent & { event_start_ts: number }): Promise<EventDraft> {
    const who = await creator(entry.user_id, entry.user_name);
    const startMs = entry.event_start_ts * 1000;
    const endMs = entry.event_end_ts && entry.event_end_ts > entry.event_start_ts ? entry.event_end_ts * 1000 : 0;
    return {
      name: entry.event_title?.trim() || eventText.untitled(who.name),
      description: `${eventText.by(who.name, entry.category_name ?? undefined)}\n\n${eventText.marker(entry.event_id)}`,
      location: who.url,
      startMs,
      endMs: endMs || startMs + options.defaultLengthMs,
      // The stream's own preview where Parti has one, else the creator's avatar.
      imageUrl: entry.event_file ?? who.avatar,
    };
  }

  /** The bot's own events in the guild that carry a mirror marker, by Parti event id. */
  async function markedEvents(guildId: string): Promise<Map<number, APIGuildScheduledEvent>> {
    const bot = options.botUserId();
    const found = new Map<number, APIGuildScheduledEvent>();
    for (const event of await api.list(guildId)) {
      if (bot && event.creator_id !== bot) continue;
      const id = eventText.markerPattern.exec(event.description ?? '')?.[1];
      if (id) found.set(Number(id), event);
    }
    return found;
  }

  /**
   * Edits a mirrored event; one a moderator deleted or finished in Discord is recorded as cancelled
   * (and never made again) instead of failing every check from now on.
   */
  async function editOrForget(record: EventRecord, change: Parameters<ScheduledEventsApi['edit']>[2]) {
    try {
      return await api.edit(record.guildId, record.discordEventId, change);
    } catch (error) {
      if (!isGoneOrFinished(error)) throw error;
      await records.saveEvent({ ...record, status: 'canceled' });
      log.info({ guildId: record.guildId, partiEventId: record.partiEventId }, 'mirrored event gone from Discord');
      return undefined;
    }
  }

  /** Brings one guild's Events tab in line with the calendar. */
  async function reconcileGuild(guildId: string, calendar: CalendarEvent[]): Promise<void> {
    const settings = await records.settings(guildId);
    if (settings.paused) return;
    const t = now();
    const matching = calendar
      .filter(
        (entry): entry is CalendarEvent & { event_start_ts: number } =>
          entry.event_start_ts != null &&
          entry.event_start_ts * 1000 > t &&
          entry.event_start_ts * 1000 <= t + MIRROR_HORIZON_DAYS * DAY,
      )
      .filter((entry) => settings.subs.some((sub) => matches(sub, entry)))
      .sort((a, b) => a.event_start_ts - b.event_start_ts);
    const wanted = matching.slice(0, MIRROR_CAP_PER_GUILD);
    const capped = matching.length > MIRROR_CAP_PER_GUILD ? { at: t, wanted: matching.length } : undefined;
    if (Boolean(capped) !== Boolean(settings.capped)) await records.setCapped(guildId, capped);

    const existing = new Map(
      (await records.guildEvents(guildId)).filter((r) => r.kind === 'mirror').map((r) => [r.key, r]),
    );
    let marked: Map<number, APIGuildScheduledEvent> | undefined;
    for (const entry of wanted) {
      const key = String(entry.event_id);
      let record = existing.get(key);
      const draft = await draftOf(entry);
      if (!record) {
        marked ??= await markedEvents(guildId);
        const orphan = marked.get(entry.event_id);
        const event = orphan ?? (await api.create(guildId, draft));
        record = {
          key,
          kind: 'mirror',
          guildId,
          discordEventId: event.id,
          status: statusName(event.status),
          name: event.name,
          description: event.description ?? draft.description,
          startMs: Date.parse(event.scheduled_start_time),
          endMs: event.scheduled_end_time ? Date.parse(event.scheduled_end_time) : draft.endMs,
          partiEventId: entry.event_id,
          userId: entry.user_id ?? undefined,
        };
        await records.saveEvent(record);
        log.info(
          { guildId, partiEventId: entry.event_id, discordEventId: event.id, adopted: orphan !== undefined },
          orphan ? 'scheduled event adopted' : 'scheduled event created',
        );
        if (!orphan) continue;
      }
      if (record.status !== 'scheduled') continue;
      const moved = record.startMs !== draft.startMs;
      if (!moved && record.name === draft.name) continue;
      const event = await editOrForget(record, { draft, moveStart: moved });
      if (!event) continue;
      await records.saveEvent({
        ...record,
        name: event.name,
        description: event.description ?? draft.description,
        startMs: Date.parse(event.scheduled_start_time),
        endMs: event.scheduled_end_time ? Date.parse(event.scheduled_end_time) : draft.endMs,
      });
      log.info({ guildId, partiEventId: entry.event_id, moved }, 'scheduled event edited');
    }

    // Gone from the calendar (or no longer followed): cancelled, unless it has started or passed.
    const kept = new Set(wanted.map((entry) => String(entry.event_id)));
    for (const record of existing.values()) {
      if (kept.has(record.key) || record.status !== 'scheduled' || record.startMs <= t) continue;
      if (!(await editOrForget(record, { status: 'canceled' }))) continue;
      await records.saveEvent({ ...record, status: 'canceled' });
      log.info({ guildId, partiEventId: record.partiEventId }, 'scheduled event cancelled: gone from the calendar');
    }
    await records.prune(guildId, t - 2 * DAY);
  }

  return {
    /** Every guild, from one read of the calendar. */
    async reconcile(): Promise<void> {
      const guildIds = await records.guildIds();
      if (guildIds.length === 0) return;
      const calendar = await readCalendar(parti);
      for (const guildId of guildIds) {
        try {
          await reconcileGuild(guildId, calendar);
        } catch (error) {
          if (await options.refused(guildId, error)) continue;
          log.warn({ err: error, guildId }, 'scheduled events reconcile failed for a guild; trying again next time');
        }
      }
    },
  };
}

export type Mirror = ReturnType<typeof createMirror>;
export type { EventRecord };
