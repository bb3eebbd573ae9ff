// Alert cards on Discord: posting a go-live's card for a subscription, editing the cards of a
// stream, and the records that make each alert happen once: `sent:{subscription}:{event}` (the
// alert exists), `card:{subscription}:{creator}` (where its card is) and `status:{subscription}`
// (the last alert, the category cap). Every message goes through the delivery queue; a refusal that
// retrying cannot fix pauses the channel's subscriptions, and /alerts list says why.
import { createHash } from 'node:crypto';
import { Routes, type APIMessage, type REST } from 'discord.js';
import { discordRefusal } from '../discord/errors.js';
import type { Logger } from '../logger.js';
import type { MetricsHooks } from '../metrics.js';
import type { Store } from '../store/index.js';
import type { KeyLock } from '../util/keyLock.js';
import { alertText, liveCard, type CardBody, type TrackedStream } from './card.js';
import type { DeliveryQueue, Lane } from './delivery.js';
import { pauseReasons } from './strings.js';
import type { Subscription, SubscriptionProblem, SubscriptionStore } from './subscriptions.js';

/** A stream as its cards show it, with the category that matched category subscriptions. */
export type AlertedStream = TrackedStream & { categoryId?: number | undefined };

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

/** Discord keeps nonces for a few minutes; 25 characters at most. */
function nonceFor(subscriptionId: string, eventKey: string): string {
  return createHash('sha256').update(`${subscriptionId}:${eventKey}`).digest('base64url').slice(0, 25);
}

export interface AlertPosting {
  /** Posts (or, within the grace period, revives) the alert for one subscription. */
  alertSubscription(
    sub: Subscription,
    stream: AlertedStream,
    origin: { source: 'push' | 'live-list'; receivedAt: number },
    continuesFrom: string | undefined,
  ): Promise<void>;
  /** Edits every card of a creator's current stream with `body` (lane 'edit'), respecting the budget. */
  editCards(stream: AlertedStream, body: CardBody, state: 'live' | 'ended', force: boolean): Promise<void>;
  /** A sample card with every mention suppressed; succeeding clears a pause, failing pauses. */
  postTest(sub: Subscription, sample: TrackedStream): Promise<{ messageId?: string; problem?: SubscriptionProblem }>;
  status(subscriptionId: string): Promise<SubscriptionStatus>;
}

export interface AlertPostingOptions {
  alerts: Store['alerts'];
  rest: REST;
  subscriptions: SubscriptionStore;
  queue: DeliveryQueue;
  /** The alert service's lock: `status:{subscription}` keys are taken here. */
  lock: KeyLock;
  log: Logger;
  now: () => number;
  settings: { categoryCapPerHour: number; editIntervalMs: number; activity?: boolean | undefined };
  metrics?: Pick<MetricsHooks, 'alertPosted'> | undefined;
  /** a link a stream's alert card in this guild shows under its text (a scheduled event), if any */
  cardLink?: (guildId: string, userId: number) => Promise<{ label: string; url: string } | undefined>;
}

export function createAlertPosting(options: AlertPostingOptions): AlertPosting {
  const { alerts, rest, subscriptions, queue, lock, log, now, settings } = options;

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
    return lock.run(`status:${sub.id}`, async () => {
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
    stream: AlertedStream,
    origin: { source: 'push' | 'live-list'; receivedAt: number },
    continuesFrom: string | undefined,
  ): Promise<void> {
    const sentKey = `sent:${sub.id}:${stream.eventKey}`;
    if (await alerts.has(sentKey)) return;
    const cardKey = `card:${sub.id}:${stream.userId}`;
    const card = await alerts.get<CardRecord>(cardKey);
    const t = now();
    if (card && continuesFrom !== undefined && card.eventKey === continuesFrom) {
      // Back within the grace period: the existing card goes live again, nobody is pinged twice.
      const revived = await deliver('edit', sub, () =>
        editMessage(card, liveCard(stream, { activity: settings.activity })),
      );
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
    const body = liveCard(stream, { activity: settings.activity });
    // A Discord event link unfurls into the event's card; in the content, card edits leave it be.
    const link = await options.cardLink?.(sub.guildId, stream.userId).catch(() => undefined);
    const message = await deliver(
      'post',
      sub,
      () =>
        rest.post(Routes.channelMessages(sub.channelId), {
          body: {
            ...body,
            content: link
              ? `${alertText(sub.template, stream, sub.roleId)}\n${link.label} ${link.url}`
              : alertText(sub.template, stream, sub.roleId),
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
    await lock.run(`status:${sub.id}`, async () => {
      const status = await readStatus(sub.id);
      await alerts.set(`status:${sub.id}`, { ...status, lastAlertAt: postedAt } satisfies SubscriptionStatus);
    });
    options.metrics?.alertPosted(origin.source, (postedAt - origin.receivedAt) / 1000);
    log.info(
      {
        subscriptionId: sub.id,
        guildId: sub.guildId,
        channelId: sub.channelId,
        userId: stream.userId,
        eventKey: stream.eventKey,
        source: origin.source,
        latencyMs: postedAt - origin.receivedAt,
      },
      'alert posted',
    );
  }

  function editMessage(card: CardRecord, body: CardBody): Promise<unknown> {
    return rest.patch(Routes.channelMessage(card.channelId, card.messageId), {
      body: { embeds: body.embeds, components: body.components, allowed_mentions: { parse: [] } },
    });
  }

  /** Edits every card of a creator's current stream with `body` (lane 'edit'), respecting the budget. */
  async function editCards(
    stream: AlertedStream,
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

  return {
    alertSubscription,
    editCards,
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
    status: readStatus,
  };
}
