// Go-live alerts: turns pushes from Parti's socket (and, to cover socket outages, periodic reads of
// the live list) into exactly one alert per subscription and stream, keeps the card's viewer count
// fresh while live, and edits it into a summary when the stream ends. This is the front: the one
// process holding the alert lease listens and reads; streams.ts follows the creators and posting.ts
// writes the cards.
//
// Exactly once: `sent:{subscription}:{event}` in the store says an alert exists, so a duplicate
// push, a reconnect, a gap-fill read or a restart posts nothing new; concurrent handling of one
// creator is serialised in-process; and every post carries a nonce derived from (subscription,
// event) with enforce_nonce, so a post retried after a crash or an ambiguous failure cannot land
// twice on Discord either.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { REST } from 'discord.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { PartiClient } from '../parti/client.js';
import type { LiveFeed } from '../parti/liveFeed.js';
import type { GoLive } from '../parti/schemas.js';
import type { Store } from '../store/index.js';
import { KeyLock } from '../util/keyLock.js';
import type { TrackedStream } from './card.js';
import { DeliveryQueue } from './delivery.js';
import { createAlertPosting, type SubscriptionStatus } from './posting.js';
import { createAlertStreams, toGoLiveInput, type StreamObserver } from './streams.js';
import { pauseReasons } from './strings.js';
import { SubscriptionStore, type Subscription, type SubscriptionProblem } from './subscriptions.js';

export interface AlertSettings {
  pollMs: number;
  graceMs: number;
  editIntervalMs: number;
  categoryCapPerHour: number;
  maxPerGuild: number;
  /** how long the alert lease lasts unrenewed (renewed every third of it) */
  leaseMs: number;
  /** the watch-party Activity is on: live cards get a Watch together button */
  activity?: boolean | undefined;
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

/** What the commands and events use of go-live alerts (Deps.alerts). */
export interface AlertService {
  readonly subscriptions: SubscriptionStore;
  readonly settings: AlertSettings;
  /** The paced queue alert messages go through; scheduled-event calls share its budget. */
  readonly queue: DeliveryQueue;
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
  /** Lets another feature follow the go-lives this service sees (one observer). */
  observe(observer: StreamObserver): void;
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
  const queue = new DeliveryQueue();
  let observer: StreamObserver | undefined;
  // One lock for both pieces: posting takes `status:` keys, streams `creator:` and `tracking`.
  const lock = new KeyLock();
  const posting = createAlertPosting({
    alerts: store.alerts,
    rest,
    subscriptions,
    queue,
    lock,
    log,
    now,
    settings,
    metrics: options.metrics,
    cardLink: (guildId, userId) => observer?.cardLink?.(guildId, userId) ?? Promise.resolve(undefined),
  });
  const streams = createAlertStreams({
    alerts: store.alerts,
    parti,
    subscriptions,
    posting,
    lock,
    log,
    now,
    settings,
    observer: () => observer,
  });
  let timer: NodeJS.Timeout | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let stopped = true;
  let leading = false;
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  /** The live-list pass, made by the process that delivers alerts only. */
  async function livePass(): Promise<void> {
    if (leading) await streams.readLiveList();
  }

  function runTick(reason: string): Promise<void> {
    ticking ??= livePass()
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
      observer?.leading(true);
    } else if (!held && leading) {
      leading = false;
      log.warn({ owner }, 'alert lease lost; another process delivers go-live alerts now');
      await stopListening();
    }
  }

  async function stopListening(): Promise<void> {
    observer?.leading(false);
    if (timer) clearInterval(timer);
    timer = undefined;
    feed.off('goLive', onGoLive);
    feed.off('connected', onConnected);
    await feed.stop();
    await ticking;
  }

  const onGoLive = (event: GoLive) => {
    streams
      .handleGoLive(toGoLiveInput(event, now(), 'push'))
      .catch((error: unknown) => log.error({ err: error, userId: event.user_id }, 'go-live handling failed'));
  };
  const onConnected = (info: { reconnect: boolean }) => {
    log.info({ reconnect: info.reconnect }, 'push feed connected; reading the live list to fill any gap');
    void runTick('connected');
  };

  return {
    subscriptions,
    settings,
    queue,

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

    status: (subscriptionId) => posting.status(subscriptionId),
    poll: () => runTick('requested'),

    postTest: (sub, sample) => posting.postTest(sub, sample),

    observe(next) {
      observer = next;
      if (leading) next.leading(true);
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
