// The streams behind go-live alerts. A go-live, pushed by Parti's socket or found in the live list,
// becomes the creator's stream record (`stream:{creator}`) and an alert for every matching
// subscription; a creator back within the grace period continues the stream they dropped. One read
// of the whole live list fills gaps in the push feed, keeps the viewer counts on live cards fresh,
// sees streams end (their cards become summaries) and then looks for their recordings.
import type { PartiClient } from '../parti/client.js';
import type { GoLive, LiveChannel } from '../parti/schemas.js';
import { videoPageUrl } from '../parti/urls.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import type { KeyLock } from '../util/keyLock.js';
import { creatorUrl, imageUrl } from '../lookups/creators.js';
import { lookupStrings } from '../lookups/strings.js';
import { endedCard, liveCard, type TrackedStream } from './card.js';
import type { AlertPosting } from './posting.js';
import { cardStrings } from './strings.js';
import type { SubscriptionStore } from './subscriptions.js';

/** A go-live as the service needs it, whether it came from the socket or the live list. */
export interface GoLiveInput {
  userId: number;
  eventId?: number | undefined;
  livestreamId?: number | undefined;
  userName?: string | undefined;
  title?: string | undefined;
  category?: string | undefined;
  viewers?: number | undefined;
  avatarUrl?: string | undefined;
  previewUrl?: string | undefined;
  socialMedia?: string | undefined;
  socialUsername?: string | undefined;
  /** when the bot learned of it, for push → post latency */
  receivedAt: number;
  source: 'push' | 'live-list';
}

interface StreamRecord extends TrackedStream {
  categoryId?: number | undefined;
  /** ms, the last time a push or the live list showed this stream */
  lastSeenAt: number;
}

function eventKeyOf(input: { eventId?: number | undefined; livestreamId?: number | undefined }): string | undefined {
  if (input.eventId != null) return String(input.eventId);
  if (input.livestreamId != null) return `ls${input.livestreamId}`;
  return undefined;
}

/** The push payload and a live-list entry name their fields alike; both become one input. */
export function toGoLiveInput(
  entry: GoLive | LiveChannel,
  receivedAt: number,
  source: GoLiveInput['source'],
): GoLiveInput {
  return {
    userId: entry.user_id,
    eventId: entry.event_id ?? undefined,
    livestreamId: entry.livestream_id ?? undefined,
    userName: entry.user_name ?? undefined,
    title: entry.event_title ?? undefined,
    category: entry.category_name ?? undefined,
    viewers: entry.viewers_count ?? undefined,
    avatarUrl: imageUrl(entry.avatar_link) ?? undefined,
    previewUrl: imageUrl(entry.event_file) ?? undefined,
    socialMedia: entry.social_media ?? undefined,
    socialUsername: entry.social_username ?? undefined,
    receivedAt,
    source,
  };
}

/**
 * Another feature following the same go-lives (scheduled events): told of every go-live before any
 * subscription filter, and of each whole live-list read, by the process that delivers alerts.
 */
export interface StreamObserver {
  goLive(input: GoLiveInput): Promise<void>;
  liveList(live: GoLiveInput[]): Promise<void>;
  /** this process started (true) or stopped (false) delivering go-lives */
  leading(leading: boolean): void;
  /** a link a stream's alert card in this guild shows beside Watch on Parti, if any */
  cardLink?(guildId: string, userId: number): Promise<{ label: string; url: string } | undefined>;
}

export interface AlertStreams {
  handleGoLive(input: GoLiveInput): Promise<void>;
  /** Gap fill, viewer refresh and end detection, from one read of the whole live list. */
  readLiveList(): Promise<void>;
}

export interface AlertStreamsOptions {
  alerts: Store['alerts'];
  parti: PartiClient;
  subscriptions: SubscriptionStore;
  posting: AlertPosting;
  /** The alert service's lock: `creator:{id}` and `tracking` keys are taken here. */
  lock: KeyLock;
  log: Logger;
  now: () => number;
  settings: { graceMs: number; pollMs: number; activity?: boolean | undefined };
  observer: () => StreamObserver | undefined;
}

export function createAlertStreams(options: AlertStreamsOptions): AlertStreams {
  const { alerts, parti, subscriptions, posting, lock, log, now, settings } = options;

  async function categoryIdOf(name: string | undefined): Promise<number | undefined> {
    if (!name) return undefined;
    const wanted = name.trim().toLowerCase();
    const categories = await parti.getCategories().catch(() => []);
    return categories.find(
      (category) => category.name?.toLowerCase() === wanted || category.display_name?.toLowerCase() === wanted,
    )?.category_id;
  }

  /** The creator's page and avatar; the push carries them, the live list needs the profile. */
  async function creatorDetails(input: GoLiveInput): Promise<{ url: string; name: string; avatar?: string }> {
    let name = input.userName;
    let avatar = input.avatarUrl;
    let url =
      input.socialMedia && input.socialUsername
        ? creatorUrl({ social_media: input.socialMedia, social_username: input.socialUsername, user_name: name })
        : null;
    if (!url || !name || !avatar) {
      const profile = await parti.getUserProfile(input.userId).catch(() => undefined);
      if (profile) {
        url ??= creatorUrl(profile);
        name ??= profile.user_name ?? undefined;
        avatar ??= imageUrl(profile.avatar_link) ?? undefined;
      }
    }
    name ??= lookupStrings.unnamedCreator(input.userId);
    return { url: url ?? creatorUrl({ user_name: name }) ?? 'https://parti.com/', name, ...(avatar ? { avatar } : {}) };
  }

  async function handleGoLive(input: GoLiveInput): Promise<void> {
    const eventKey = eventKeyOf(input);
    if (!eventKey) return;
    // First, so that an event it sets going can be linked from the alert card.
    await options
      .observer()
      ?.goLive(input)
      .catch((error: unknown) => log.error({ err: error, userId: input.userId }, 'go-live observer failed'));
    await lock.run(`creator:${input.userId}`, async () => {
      const previous = await alerts.get<StreamRecord>(`stream:${input.userId}`);
      const sameStream = previous?.eventKey === eventKey;
      const categoryId = sameStream && previous ? previous.categoryId : await categoryIdOf(input.category);
      const matching = (await subscriptions.matching(input.userId, categoryId)).filter((sub) => !sub.paused);
      if (matching.length === 0 && !previous) return;

      const t = now();
      let stream: StreamRecord;
      /** the event this one continues, when the creator dropped and came back within the grace period */
      let continuesFrom: string | undefined;
      if (sameStream && previous) {
        stream = {
          ...previous,
          title: input.title ?? previous.title,
          category: input.category ?? previous.category,
          viewers: input.viewers ?? previous.viewers,
          peakViewers: Math.max(previous.peakViewers, input.viewers ?? 0),
          previewUrl: input.previewUrl ?? previous.previewUrl,
          endedAt: undefined,
          lastSeenAt: t,
        };
      } else {
        const details = await creatorDetails(input);
        const lastSeen = previous?.endedAt ?? previous?.lastSeenAt ?? 0;
        const continues = previous !== undefined && lastSeen >= t - settings.graceMs - settings.pollMs;
        if (continues) continuesFrom = previous.eventKey;
        stream = {
          userId: input.userId,
          eventKey,
          eventId: input.eventId,
          userName: details.name,
          title: input.title?.trim() || previous?.title || cardStrings.untitled,
          category: input.category,
          categoryId,
          viewers: input.viewers,
          peakViewers: Math.max(input.viewers ?? 0, continues ? previous.peakViewers : 0),
          avatarUrl: details.avatar,
          previewUrl: input.previewUrl,
          creatorUrl: details.url,
          startedAt: continues ? previous.startedAt : t,
          lastSeenAt: t,
        };
      }
      await alerts.set(`stream:${input.userId}`, stream);
      await track(input.userId);
      // Seen again after its end was recorded: the cards go back to live, nobody is pinged again.
      if (sameStream && previous?.endedAt)
        await posting.editCards(stream, liveCard(stream, { activity: settings.activity }), 'live', true);
      await Promise.all(
        matching.map((sub) =>
          posting
            .alertSubscription(sub, stream, input, continuesFrom)
            .catch((error: unknown) =>
              log.error(
                { err: error, subscriptionId: sub.id, userId: input.userId },
                'alert failed; retried on the next live-list read',
              ),
            ),
        ),
      );
    });
  }

  /** The creators whose cards the live-list pass keeps fresh and summarises when they end. */
  function track(userId: number): Promise<void> {
    return lock.run('tracking', async () => {
      const tracked = (await alerts.get<number[]>('tracking')) ?? [];
      if (!tracked.includes(userId)) await alerts.set('tracking', [...tracked, userId]);
    });
  }

  function untrack(userId: number): Promise<void> {
    return lock.run('tracking', async () => {
      const tracked = (await alerts.get<number[]>('tracking')) ?? [];
      if (tracked.includes(userId))
        await alerts.set(
          'tracking',
          tracked.filter((id) => id !== userId),
        );
    });
  }

  async function endStream(userId: number): Promise<void> {
    await lock.run(`creator:${userId}`, async () => {
      const stream = await alerts.get<StreamRecord>(`stream:${userId}`);
      if (!stream || stream.endedAt) return;
      const ended: StreamRecord = { ...stream, endedAt: now(), recordingUrl: await findRecording(stream) };
      await alerts.set(`stream:${userId}`, ended);
      await posting.editCards(ended, endedCard(ended), 'ended', true);
      // Parti may list the recording a little later: without one the creator stays tracked, and
      // later passes look for it until the grace period ends.
      if (ended.recordingUrl) await untrack(userId);
      log.info(
        { userId, eventKey: stream.eventKey, peakViewers: ended.peakViewers },
        'stream ended; alert cards summarised',
      );
    });
  }

  async function findRecording(stream: StreamRecord): Promise<string | undefined> {
    if (stream.eventId == null) return undefined;
    const recent = await parti
      .getRecentStreams({ byUserId: stream.userId, limit: 10 }, { fresh: true })
      .catch(() => []);
    return recent.some((entry) => entry.event_id === stream.eventId) ? videoPageUrl(stream.eventId) : undefined;
  }

  /** Gap fill, viewer refresh and end detection, from one read of the whole live list. */
  async function readLiveList(): Promise<void> {
    let live: LiveChannel[];
    try {
      live = await parti.getAllLiveChannels({}, { fresh: true });
    } catch (error) {
      log.warn({ err: error }, 'could not read the live list; trying again at the next poll');
      return;
    }
    const receivedAt = now();
    const liveIds = new Set(live.map((entry) => entry.user_id));
    const inputs = live.map((entry) => toGoLiveInput(entry, receivedAt, 'live-list'));
    for (const input of inputs) {
      await handleGoLive(input).catch((error: unknown) =>
        log.error({ err: error, userId: input.userId }, 'gap fill failed for a live creator'),
      );
    }
    await options
      .observer()
      ?.liveList(inputs)
      .catch((error: unknown) => log.error({ err: error }, 'live-list observer failed'));
    const tracked = (await alerts.get<number[]>('tracking')) ?? [];
    for (const userId of tracked) {
      const stream = await alerts.get<StreamRecord>(`stream:${userId}`);
      if (!stream) {
        await untrack(userId);
        continue;
      }
      if (stream.endedAt) {
        await lookForLateRecording(stream);
        continue;
      }
      if (liveIds.has(userId)) {
        await posting.editCards(stream, liveCard(stream, { activity: settings.activity }), 'live', false);
        continue;
      }
      // Not in the list: ask the channel itself before calling the stream over, since a paged list
      // read while creators come and go can miss someone for a moment.
      const info = await parti.getChannelInfo(userId, { fresh: true }).catch(() => undefined);
      const stillLive = info?.is_streaming_live_now ?? info?.channel_info?.channel?.is_live ?? false;
      if (!info || stillLive) continue;
      await endStream(userId);
    }
  }

  async function lookForLateRecording(stream: StreamRecord): Promise<void> {
    if (stream.recordingUrl || !stream.endedAt || stream.endedAt < now() - settings.graceMs) {
      await untrack(stream.userId);
      return;
    }
    const recordingUrl = await findRecording(stream);
    if (!recordingUrl) return;
    await lock.run(`creator:${stream.userId}`, async () => {
      const current = await alerts.get<StreamRecord>(`stream:${stream.userId}`);
      if (!current || current.eventKey !== stream.eventKey || !current.endedAt) return;
      const updated = { ...current, recordingUrl };
      await alerts.set(`stream:${stream.userId}`, updated);
      await posting.editCards(updated, endedCard(updated), 'ended', true);
    });
    await untrack(stream.userId);
  }

  return { handleGoLive, readLiveList };
}
