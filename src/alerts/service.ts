// Go-live alerts: turns pushes from Parti's socket (and, to cover socket outages, periodic reads of
// the live list) into exactly one alert per subscription and stream, keeps the card's viewer count
// fresh while live, and edits it into a summary when the stream ends.
//
// Exactly once: `sent:{subscription}:{event}` in the store says an alert exists, so a duplicate
// push, a reconnect, a gap-fill read or a restart posts nothing new; concurrent handling of one
// creator is serialised in-process; and every post carries a nonce derived from (subscription,
// event) with enforce_nonce, so a post retried after a crash or an ambiguous failure cannot land
// twice on Discord either.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Routes, type APIMessage, type REST } from 'discord.js';
import { discordRefusal } from '../discord/errors.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartiClient } from '../parti/client.js';
import type { LiveFeed } from '../parti/liveFeed.js';
import type { GoLive, LiveChannel } from '../parti/schemas.js';
import { videoPageUrl } from '../parti/urls.js';
import type { Store } from '../store/index.js';
import { KeyLock } from '../util/keyLock.js';
import { creatorUrl, imageUrl } from '../lookups/creators.js';
import { lookupStrings } from '../lookups/strings.js';
import { alertText, endedCard, liveCard, type CardBody, type TrackedStream } from './card.js';
import { DeliveryQueue, type Lane } from './delivery.js';
import { cardStrings, pauseReasons } from './strings.js';
import { SubscriptionStore, type Subscription, type SubscriptionProblem } from './subscriptions.js';

export interface AlertSettings {
  pollMs: number;
  graceMs: number;
  editIntervalMs: number;
  categoryCapPerHour: number;
  maxPerGuild: number;
  /** how long the alert lease lasts unrenewed (renewed every third of it) */
  leaseMs: number;
}

export interface AlertServiceOptions {
  store: Store;
  parti: PartiClient;
  rest: REST;
  feed: LiveFeed;
  logger: Logger;
  settings: AlertSettings;
  now?: () => number;
  metrics?: Pick<MetricsHooks, 'alertPosted'> | undefined;
}

/** A go-live as the service needs it, whether it came from the socket or the live list. */
interface GoLiveInput {
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

interface CardRecord {
  guildId: string;
  channelId: string;
  messageId: string;
  eventKey: string;
  state: 'live' | 'ended';
  lastEditAt: number;
  lastViewers?: number | undefined;
}

export interface SubscriptionStatus {
  lastAlertAt?: number;
  /** post times within the last hour (category cap) */
  posts?: number[];
  capHitAt?: number;
  capSkipped?: number;
}

const HOUR = 3_600_000;

/** A Discord refusal that retrying cannot fix, as the problem that pauses a subscription; else undefined. */
function pausingProblem(error: unknown, at: number): SubscriptionProblem | undefined {
  const refused = discordRefusal(error);
  if (!refused || refused.refusal === 'unknownMessage') return undefined;
  return { code: refused.code, reason: pauseReasons[refused.refusal], at };
}

function eventKeyOf(input: { eventId?: number | undefined; livestreamId?: number | undefined }): string | undefined {
  if (input.eventId != null) return String(input.eventId);
  if (input.livestreamId != null) return `ls${input.livestreamId}`;
  return undefined;
}

/** Discord keeps nonces for a few minutes; 25 characters at most. */
function nonceFor(subscriptionId: string, eventKey: string): string {
  return createHash('sha256').update(`${subscriptionId}:${eventKey}`).digest('base64url').slice(0, 25);
}

/** The push payload and a live-list entry name their fields alike; both become one input. */
function toGoLiveInput(entry: GoLive | LiveChannel, receivedAt: number, source: GoLiveInput['source']): GoLiveInput {
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

/** What the commands and events use of go-live alerts (Deps.alerts). */
export interface AlertService {
  readonly subscriptions: SubscriptionStore;
  readonly settings: AlertSettings;
  /**
   * Starts competing for the alert lease: the process holding it listens to the push feed and
   * reads the live list; the others only serve /alerts. With sqlite there is one process, which
   * always holds it; with several processes on one Redis, exactly one delivers each go-live.
   */
  start(): void;
  /** Stops listening, lets go of the lease and waits (up to 3 s) for the posts under way. */
  stop(): Promise<void>;
  /** For /alerts list. */
  status(subscriptionId: string): Promise<SubscriptionStatus>;
  /** Reads the live list now (for tests and for /alerts add, so a creator live right now is alerted). */
  poll(): Promise<void>;
  /**
   * /alerts test: posts a sample card with every mention suppressed. Succeeding clears a pause
   * (the admin fixed the channel); failing pauses the subscription like a real alert would.
   */
  postTest(sub: Subscription, sample: TrackedStream): Promise<{ messageId?: string; problem?: SubscriptionProblem }>;
  /** The bot left a guild: its subscriptions go. Returns how many. */
  forgetGuild(guildId: string): Promise<number>;
  /** A channel was deleted: its subscriptions pause and say why. Returns how many. */
  channelDeleted(guildId: string, channelId: string): Promise<number>;
}

export function createAlertService(options: AlertServiceOptions): AlertService {
  const { store, parti, rest, feed, settings } = options;
  const now = options.now ?? Date.now;
  const log = options.logger.child({ module: 'alerts' });
  const subscriptions = new SubscriptionStore(store.guilds);
  const alerts = store.alerts;
  const queue = new DeliveryQueue();
  const creatorLock = new KeyLock();
  let timer: NodeJS.Timeout | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = true;
  let leading = false;
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

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

  async function deliver<T>(lane: Lane, sub: Subscription, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await queue.push(lane, work);
    } catch (error) {
      const problem = pausingProblem(error, now());
      if (problem) {
        await subscriptions.setProblem(sub.guildId, (s) => s.channelId === sub.channelId, problem);
        log.warn(
          { subscriptionId: sub.id, guildId: sub.guildId, channelId: sub.channelId, code: problem.code },
          'alert delivery refused by Discord; pausing the channel’s subscriptions',
        );
        return undefined;
      }
      throw error;
    }
  }

  async function readStatus(subId: string): Promise<SubscriptionStatus> {
    return (await alerts.get<SubscriptionStatus>(`status:${subId}`)) ?? {};
  }

  /**
   * Counts an alert against a category subscription's hourly cap, or records that the cap bit.
   * Creators going live at once race for the last slots, so the check and the count are one step.
   */
  function reserveCategorySlot(sub: Subscription, userId: number): Promise<boolean> {
    return creatorLock.run(`status:${sub.id}`, async () => {
      const t = now();
      const status = await readStatus(sub.id);
      const recent = (status.posts ?? []).filter((at) => at > t - HOUR);
      if (recent.length >= settings.categoryCapPerHour) {
        await alerts.set(`status:${sub.id}`, {
          ...status,
          posts: recent,
          capHitAt: t,
          capSkipped: (status.capSkipped ?? 0) + 1,
        } satisfies SubscriptionStatus);
        log.info({ subscriptionId: sub.id, userId }, 'category alert skipped: hourly cap reached');
        return false;
      }
      await alerts.set(`status:${sub.id}`, { ...status, posts: [...recent, t] } satisfies SubscriptionStatus);
      return true;
    });
  }

  /** Posts (or, within the grace period, revives) the alert for one subscription. */
  async function alertSubscription(
    sub: Subscription,
    stream: StreamRecord,
    input: GoLiveInput,
    continuesFrom: string | undefined,
  ): Promise<void> {
    const sentKey = `sent:${sub.id}:${stream.eventKey}`;
    if (await alerts.has(sentKey)) return;
    const cardKey = `card:${sub.id}:${stream.userId}`;
    const card = await alerts.get<CardRecord>(cardKey);
    const t = now();
    if (card && continuesFrom !== undefined && card.eventKey === continuesFrom) {
      // Back within the grace period: the existing card goes live again, nobody is pinged twice.
      const revived = await deliver('edit', sub, () => editMessage(card, liveCard(stream)));
      if (revived === undefined) return;
      await alerts.set(cardKey, { ...card, eventKey: stream.eventKey, state: 'live', lastEditAt: now() });
      await alerts.set(sentKey, { messageId: card.messageId, at: now(), revived: true });
      log.info({ subscriptionId: sub.id, userId: stream.userId, eventKey: stream.eventKey }, 'alert card revived');
      return;
    }
    if (sub.target.kind === 'category' && !(await reserveCategorySlot(sub, stream.userId))) {
      // Final for this stream: a later pass must neither count it again nor post it late.
      await alerts.set(sentKey, { skipped: 'hourly-cap', at: t });
      return;
    }
    const body = liveCard(stream);
    const message = await deliver(
      'post',
      sub,
      () =>
        rest.post(Routes.channelMessages(sub.channelId), {
          body: {
            ...body,
            content: alertText(sub.template, stream, sub.roleId),
            // Only the subscription's role may be pinged, whatever a title or template contains.
            allowed_mentions: { parse: [], roles: sub.roleId ? [sub.roleId] : [] },
            nonce: nonceFor(sub.id, stream.eventKey),
            enforce_nonce: true,
          },
        }) as Promise<APIMessage>,
    );
    if (!message) return;
    const postedAt = now();
    await alerts.set(sentKey, { messageId: message.id, at: postedAt });
    await alerts.set(cardKey, {
      guildId: sub.guildId,
      channelId: sub.channelId,
      messageId: message.id,
      eventKey: stream.eventKey,
      state: 'live',
      lastEditAt: postedAt,
      lastViewers: stream.viewers,
    } satisfies CardRecord);
    await creatorLock.run(`status:${sub.id}`, async () => {
      const status = await readStatus(sub.id);
      await alerts.set(`status:${sub.id}`, { ...status, lastAlertAt: postedAt } satisfies SubscriptionStatus);
    });
    options.metrics?.alertPosted(input.source, (postedAt - input.receivedAt) / 1000);
    log.info(
      {
        subscriptionId: sub.id,
        guildId: sub.guildId,
        channelId: sub.channelId,
        userId: stream.userId,
        eventKey: stream.eventKey,
        source: input.source,
        latencyMs: postedAt - input.receivedAt,
      },
      'alert posted',
    );
  }

  function editMessage(card: CardRecord, body: CardBody): Promise<unknown> {
    return rest.patch(Routes.channelMessage(card.channelId, card.messageId), {
      body: { embeds: body.embeds, components: body.components, allowed_mentions: { parse: [] } },
    });
  }

  async function handleGoLive(input: GoLiveInput): Promise<void> {
    const eventKey = eventKeyOf(input);
    if (!eventKey) return;
    await creatorLock.run(`creator:${input.userId}`, async () => {
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
      if (sameStream && previous?.endedAt) await editCards(stream, liveCard(stream), 'live', true);
      await Promise.all(
        matching.map((sub) =>
          alertSubscription(sub, stream, input, continuesFrom).catch((error: unknown) =>
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
    return creatorLock.run('tracking', async () => {
      const tracked = (await alerts.get<number[]>('tracking')) ?? [];
      if (!tracked.includes(userId)) await alerts.set('tracking', [...tracked, userId]);
    });
  }

  function untrack(userId: number): Promise<void> {
    return creatorLock.run('tracking', async () => {
      const tracked = (await alerts.get<number[]>('tracking')) ?? [];
      if (tracked.includes(userId))
        await alerts.set(
          'tracking',
          tracked.filter((id) => id !== userId),
        );
    });
  }

  /** Edits every card of a creator's current stream with `body` (lane 'edit'), respecting the budget. */
  async function editCards(
    stream: StreamRecord,
    body: CardBody,
    state: CardRecord['state'],
    force: boolean,
  ): Promise<void> {
    const subs = await subscriptions.matching(stream.userId, stream.categoryId);
    await Promise.all(
      subs.map(async (sub) => {
        const cardKey = `card:${sub.id}:${stream.userId}`;
        const card = await alerts.get<CardRecord>(cardKey);
        if (!card || card.eventKey !== stream.eventKey || sub.paused) return;
        const t = now();
        if (!force && (t - card.lastEditAt < settings.editIntervalMs || card.lastViewers === stream.viewers)) return;
        try {
          const done = await deliver('edit', sub, () => editMessage(card, body));
          if (done === undefined) return;
          await alerts.set(cardKey, { ...card, state, lastEditAt: now(), lastViewers: stream.viewers });
        } catch (error) {
          if (discordRefusal(error)?.refusal === 'unknownMessage') {
            // Someone deleted the card; leave it deleted.
            await alerts.delete(cardKey);
            return;
          }
          log.warn({ err: error, subscriptionId: sub.id, userId: stream.userId }, 'alert card edit failed');
        }
      }),
    );
  }

  async function endStream(userId: number): Promise<void> {
    await creatorLock.run(`creator:${userId}`, async () => {
      const stream = await alerts.get<StreamRecord>(`stream:${userId}`);
      if (!stream || stream.endedAt) return;
      const ended: StreamRecord = { ...stream, endedAt: now(), recordingUrl: await findRecording(stream) };
      await alerts.set(`stream:${userId}`, ended);
      await editCards(ended, endedCard(ended), 'ended', true);
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
  async function tick(): Promise<void> {
    if (!leading) return;
    let live: LiveChannel[];
    try {
      live = await parti.getAllLiveChannels({}, { fresh: true });
    } catch (error) {
      log.warn({ err: error }, 'could not read the live list; trying again at the next poll');
      return;
    }
    const receivedAt = now();
    const liveIds = new Set(live.map((entry) => entry.user_id));
    for (const entry of live) {
      await handleGoLive(toGoLiveInput(entry, receivedAt, 'live-list')).catch((error: unknown) =>
        log.error({ err: error, userId: entry.user_id }, 'gap fill failed for a live creator'),
      );
    }
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
        await editCards(stream, liveCard(stream), 'live', false);
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
    await creatorLock.run(`creator:${stream.userId}`, async () => {
      const current = await alerts.get<StreamRecord>(`stream:${stream.userId}`);
      if (!current || current.eventKey !== stream.eventKey || !current.endedAt) return;
      const updated = { ...current, recordingUrl };
      await alerts.set(`stream:${stream.userId}`, updated);
      await editCards(updated, endedCard(updated), 'ended', true);
    });
    await untrack(stream.userId);
  }

  function runTick(reason: string): Promise<void> {
    ticking ??= tick()
      .catch((error: unknown) => log.error({ err: error, reason }, 'live-list pass failed'))
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  }

  async function checkLease(): Promise<void> {
    const held = await store.lease('alerts', owner, settings.leaseMs).catch((error: unknown) => {
      log.warn({ err: error }, 'could not renew the alert lease');
      return false;
    });
    if (stopped) return;
    if (held && !leading) {
      leading = true;
      log.info({ owner }, 'this process delivers go-live alerts');
      feed.on('goLive', onGoLive);
      feed.on('connected', onConnected);
      feed.start();
      timer = setInterval(() => void runTick('poll'), settings.pollMs);
    } else if (!held && leading) {
      leading = false;
      log.warn({ owner }, 'alert lease lost; another process delivers go-live alerts now');
      await stopListening();
    }
  }

  async function stopListening(): Promise<void> {
    if (timer) clearInterval(timer);
    timer = undefined;
    feed.off('goLive', onGoLive);
    feed.off('connected', onConnected);
    await feed.stop();
    await ticking;
  }

  const onGoLive = (event: GoLive) => {
    handleGoLive(toGoLiveInput(event, now(), 'push')).catch((error: unknown) =>
      log.error({ err: error, userId: event.user_id }, 'go-live handling failed'),
    );
  };
  const onConnected = (info: { reconnect: boolean }) => {
    log.info({ reconnect: info.reconnect }, 'push feed connected; reading the live list to fill any gap');
    void runTick('connected');
  };

  return {
    subscriptions,
    settings,

    start() {
      if (!stopped) return;
      stopped = false;
      void checkLease();
      leaseTimer = setInterval(() => void checkLease(), settings.leaseMs / 3);
    },

    async stop() {
      stopped = true;
      if (leaseTimer) clearInterval(leaseTimer);
      if (leading) {
        leading = false;
        await stopListening();
        await store.releaseLease('alerts', owner).catch(() => undefined);
      }
      await Promise.race([queue.idle(), new Promise((resolve) => setTimeout(resolve, 3_000).unref())]);
    },

    status: readStatus,
    poll: () => runTick('requested'),

    async postTest(sub, sample) {
      try {
        const message = (await queue.push('post', () =>
          rest.post(Routes.channelMessages(sub.channelId), {
            body: {
              ...liveCard(sample, { sample: true }),
              content: alertText(sub.template, sample, sub.roleId),
              allowed_mentions: { parse: [] },
            },
          }),
        )) as APIMessage;
        if (sub.paused) await subscriptions.setProblem(sub.guildId, (s) => s.channelId === sub.channelId, undefined);
        return { messageId: message.id };
      } catch (error) {
        const problem = pausingProblem(error, now());
        if (problem) {
          await subscriptions.setProblem(sub.guildId, (s) => s.channelId === sub.channelId, problem);
          return { problem };
        }
        throw error;
      }
    },

    async forgetGuild(guildId) {
      return subscriptions.removeGuild(guildId);
    },

    async channelDeleted(guildId, channelId) {
      const paused = await subscriptions.setProblem(guildId, (sub) => sub.channelId === channelId, {
        code: 'channel-deleted',
        reason: pauseReasons.channelDeleted,
        at: now(),
      });
      return paused.length;
    },
  };
}
