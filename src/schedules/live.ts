// Go-live meets the event: a stream whose Parti event id has a mirrored event (or, failing that,
// whose creator has one starting within the hour) sets that event ACTIVE, so Discord notifies the
// members who pressed Interested, and its place becomes the live link; when the stream ends the event
// is COMPLETED with the duration and peak viewers in its description. A subscription added with
// live-events also gets an ACTIVE event for a stream nobody scheduled. Fed by the alert service's
// go-lives and live-list reads (push and gap fill alike), in the process that delivers alerts.
import { formatDuration } from '../alerts/card.js';
import type { GoLiveInput, StreamObserver } from '../alerts/streams.js';
import type { Logger } from '../logger.js';
import type { PartiClient } from '../parti/client.js';
import { KeyLock } from '../util/keyLock.js';
import { creatorUrl } from '../lookups/creators.js';
import { lookupStrings } from '../lookups/strings.js';
import { matches } from './mirror.js';
import type { EventRecord, EventSubscription, ScheduleRecords } from './records.js';
import { eventUrl, isGoneOrFinished, statusName, type EventDraft, type ScheduledEventsApi } from './scheduledEvents.js';
import { eventText } from './strings.js';

const HOUR = 3_600_000;

export interface LiveEventsOptions {
  records: ScheduleRecords;
  api: ScheduledEventsApi;
  parti: PartiClient;
  log: Logger;
  now: () => number;
  defaultLengthMs: number;
  refused: (guildId: string, error: unknown) => Promise<boolean>;
}

function streamKey(input: Pick<GoLiveInput, 'eventId' | 'livestreamId'>): string | undefined {
  if (input.eventId != null) return String(input.eventId);
  if (input.livestreamId != null) return `ls${input.livestreamId}`;
  return undefined;
}

/** A live-events subscription covering this stream (creator by id, category by its name). */
function liveSubscription(subs: EventSubscription[], input: GoLiveInput): EventSubscription | undefined {
  const category = input.category?.trim().toLowerCase();
  return subs.find(
    (sub) =>
      sub.liveEvents &&
      (sub.target.kind === 'creator'
        ? matches(sub, { user_id: input.userId })
        : category !== undefined && sub.target.name.toLowerCase() === category),
  );
}

export function createLiveEvents(options: LiveEventsOptions): Omit<StreamObserver, 'leading'> {
  const { records, api, parti, log, now } = options;
  // Push and live list can bring one go-live at once: one guild's events are changed one at a time.
  const lock = new KeyLock();

  /** Where to watch it live; the creator's page plays the live stream. */
  function liveDraft(record: EventRecord, location: string): EventDraft {
    const t = now();
    return {
      name: record.name,
      description: record.description,
      location,
      startMs: record.startMs,
      // An event Discord thinks is over would end itself under the stream.
      endMs: Math.max(record.endMs, t + options.defaultLengthMs),
    };
  }

  async function activate(record: EventRecord, input: GoLiveInput, liveKey: string, location: string): Promise<void> {
    const draft = record.kind === 'party' ? undefined : liveDraft(record, location);
    let event;
    try {
      event = await api.edit(record.guildId, record.discordEventId, { ...(draft ? { draft } : {}), status: 'active' });
    } catch (error) {
      // Deleted or finished by a moderator: it stays so.
      if (!isGoneOrFinished(error)) throw error;
      await records.saveEvent({ ...record, status: 'canceled' });
      return;
    }
    await records.saveEvent({
      ...record,
      status: statusName(event.status),
      endMs: draft?.endMs ?? record.endMs,
      liveEventKey: liveKey,
      liveStartedAt: now(),
      peakViewers: input.viewers ?? 0,
    });
    log.info(
      {
        guildId: record.guildId,
        discordEventId: record.discordEventId,
        userId: input.userId,
        partiEventId: input.eventId,
      },
      'scheduled event started: the creator is live',
    );
  }

  async function creatorLink(input: GoLiveInput): Promise<{ name: string; url: string }> {
    const profile = await parti.getUserProfile(input.userId).catch(() => undefined);
    const name = input.userName ?? profile?.user_name ?? lookupStrings.unnamedCreator(input.userId);
    const url =
      (input.socialMedia && input.socialUsername
        ? creatorUrl({ social_media: input.socialMedia, social_username: input.socialUsername, user_name: name })
        : null) ??
      (profile && creatorUrl(profile)) ??
      creatorUrl({ user_name: name }) ??
      'https://parti.com/';
    return { name, url };
  }

  async function goLiveInGuild(guildId: string, input: GoLiveInput, liveKey: string): Promise<void> {
    const settings = await records.settings(guildId);
    if (settings.paused) return;
    const events = await records.guildEvents(guildId);
    const current = events.find(
      (r) => r.status === 'active' && r.userId === input.userId && r.liveEventKey === liveKey,
    );
    if (current) {
      if ((input.viewers ?? 0) > (current.peakViewers ?? 0))
        await records.saveEvent({ ...current, peakViewers: input.viewers });
      return;
    }
    const t = now();
    const scheduled = events.filter((r) => r.kind === 'mirror' && r.status === 'scheduled');
    const match =
      (input.eventId != null ? scheduled.find((r) => r.partiEventId === input.eventId) : undefined) ??
      scheduled
        .filter((r) => r.userId === input.userId && Math.abs(r.startMs - t) <= HOUR)
        .sort((a, b) => Math.abs(a.startMs - t) - Math.abs(b.startMs - t))[0];
    if (match) {
      await activate(match, input, liveKey, (await creatorLink(input)).url);
      return;
    }
    const sub = liveSubscription(settings.subs, input);
    const key = `live:${input.userId}:${liveKey}`;
    if (!sub || events.some((r) => r.key === key)) return;
    const who = await creatorLink(input);
    const draft: EventDraft = {
      name: input.title?.trim() || eventText.untitled(who.name),
      description: eventText.by(who.name, input.category),
      location: who.url,
      startMs: t,
      endMs: t + options.defaultLengthMs,
      imageUrl: input.previewUrl ?? input.avatarUrl,
    };
    const event = await api.create(guildId, draft);
    const record: EventRecord = {
      key,
      kind: 'live',
      guildId,
      discordEventId: event.id,
      status: 'scheduled',
      name: event.name,
      description: draft.description,
      startMs: Date.parse(event.scheduled_start_time),
      endMs: event.scheduled_end_time ? Date.parse(event.scheduled_end_time) : draft.endMs,
      userId: input.userId,
    };
    await records.saveEvent(record);
    await activate(record, input, liveKey, who.url);
  }

  async function complete(record: EventRecord): Promise<void> {
    const t = now();
    const summary = eventText.ended(formatDuration(t - (record.liveStartedAt ?? t)), record.peakViewers ?? 0);
    const draft: EventDraft = {
      name: record.name,
      description: `${record.description}\n\n${summary}`,
      startMs: record.startMs,
      endMs: record.endMs,
    };
    try {
      await api.edit(record.guildId, record.discordEventId, { draft, status: 'completed' });
    } catch (error) {
      // Gone or already over in Discord: recorded as over all the same, so nobody tries again.
      if (!isGoneOrFinished(error)) {
        if (!(await options.refused(record.guildId, error))) throw error;
        return;
      }
    }
    await records.saveEvent({ ...record, status: 'completed', description: draft.description });
    log.info(
      {
        guildId: record.guildId,
        discordEventId: record.discordEventId,
        userId: record.userId,
        peakViewers: record.peakViewers,
      },
      'scheduled event completed: the stream ended',
    );
  }

  return {
    async goLive(input) {
      const liveKey = streamKey(input);
      if (!liveKey) return;
      for (const guildId of await records.guildIds()) {
        await lock
          .run(guildId, () => goLiveInGuild(guildId, input, liveKey))
          .catch(async (error: unknown) => {
            if (await options.refused(guildId, error)) return;
            log.warn({ err: error, guildId, userId: input.userId }, 'could not start a scheduled event for a go-live');
          });
      }
    },

    async liveList(live) {
      const byUser = new Map(live.map((input) => [input.userId, input]));
      for (const guildId of await records.guildIds()) {
        const active = (await records.guildEvents(guildId)).filter(
          (r) => r.status === 'active' && r.kind !== 'party' && r.userId !== undefined,
        );
        for (const record of active) {
          if (byUser.has(record.userId!)) continue;
          // Not in the list: ask the channel itself, as the alert cards do, before calling it over.
          const info = await parti.getChannelInfo(record.userId!, { fresh: true }).catch(() => undefined);
          const stillLive = info?.is_streaming_live_now ?? info?.channel_info?.channel?.is_live ?? false;
          if (!info || stillLive) continue;
          await lock
            .run(guildId, async () => {
              const latest = await records.event(guildId, record.key);
              if (latest?.status === 'active') await complete(latest);
            })
            .catch((error: unknown) => log.warn({ err: error, guildId }, 'could not complete a scheduled event'));
        }
      }
    },

    async cardLink(guildId, userId) {
      const active = (await records.guildEvents(guildId)).find((r) => r.status === 'active' && r.userId === userId);
      return active ? { label: '📅', url: eventUrl(guildId, active.discordEventId) } : undefined;
    },
  };
}
