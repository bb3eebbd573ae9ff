// What the store holds for scheduled events: per guild, which creators and categories are mirrored
// (`events-subs:{guild}` in the guilds namespace, with `events-guilds` listing the guilds), and one
// record per Discord event the bot made (`event:{guild}:{key}` in the alerts namespace, listed by
// `events:{guild}`). The key is the Parti event id for a mirrored schedule, `live:{creator}:{stream}`
// for a stream without one, `party:{plan}` for a planned watch party: one Discord event per key
// per guild, ever.
import { randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import type { AlertTarget, SubscriptionProblem } from '../alerts/subscriptions.js';
import { sameTarget } from '../alerts/subscriptions.js';
import { KeyLock } from '../util/keyLock.js';
import type { EventStatusName } from './scheduledEvents.js';

export interface EventSubscription {
  id: string;
  guildId: string;
  target: AlertTarget;
  /** streams started without a schedule get an event too */
  liveEvents: boolean;
  createdBy: string;
  createdAt: number;
}

export interface GuildSchedules {
  subs: EventSubscription[];
  /** set when Discord refused an event for want of a permission; nothing is made until cleared */
  paused?: SubscriptionProblem | undefined;
  /** the last reconcile found more matching entries than the cap */
  capped?: { at: number; wanted: number } | undefined;
}

export interface EventRecord {
  key: string;
  kind: 'mirror' | 'live' | 'party';
  guildId: string;
  discordEventId: string;
  status: EventStatusName;
  name: string;
  /** what the bot last wrote as its description, to add the end summary to */
  description: string;
  startMs: number;
  endMs: number;
  partiEventId?: number | undefined;
  userId?: number | undefined;
  /** the live stream that made it active, to complete it when that stream ends */
  liveEventKey?: string | undefined;
  liveStartedAt?: number | undefined;
  peakViewers?: number | undefined;
  planId?: string | undefined;
}

export class ScheduleRecords {
  private readonly lock = new KeyLock();

  constructor(
    private readonly guilds: Keyv,
    private readonly events: Keyv,
  ) {}

  async guildIds(): Promise<string[]> {
    return (await this.guilds.get<string[]>('events-guilds')) ?? [];
  }

  async settings(guildId: string): Promise<GuildSchedules> {
    return (await this.guilds.get<GuildSchedules>(`events-subs:${guildId}`)) ?? { subs: [] };
  }

  /** Changes a guild's settings in one step (and keeps the guild listed while it has subscriptions). */
  updateSettings<T>(
    guildId: string,
    change: (settings: GuildSchedules) => { next: GuildSchedules; result: T },
  ): Promise<T> {
    return this.lock.run(`guild:${guildId}`, async () => {
      const { next, result } = change(await this.settings(guildId));
      await this.guilds.set(`events-subs:${guildId}`, next);
      await this.lock.run('guilds', async () => {
        const ids = await this.guildIds();
        const listed = ids.includes(guildId);
        if (next.subs.length > 0 && !listed) await this.guilds.set('events-guilds', [...ids, guildId]);
        if (next.subs.length === 0 && listed && (await this.eventKeys(guildId)).length === 0) {
          await this.guilds.set(
            'events-guilds',
            ids.filter((id) => id !== guildId),
          );
        }
      });
      return result;
    });
  }

  /** Adds a subscription, or updates the one with the same target. Throws LimitReached past `max`. */
  upsert(input: Omit<EventSubscription, 'id' | 'createdAt'>, max: number) {
    return this.updateSettings(input.guildId, (settings) => {
      const existing = settings.subs.find((sub) => sameTarget(sub.target, input.target));
      if (existing) {
        const updated = { ...existing, liveEvents: input.liveEvents };
        return {
          next: { ...settings, paused: undefined, subs: settings.subs.map((s) => (s === existing ? updated : s)) },
          result: { subscription: updated, created: false },
        };
      }
      if (settings.subs.length >= max) throw new SchedulesLimitReached(max);
      const subscription: EventSubscription = { ...input, id: randomBytes(4).toString('hex'), createdAt: Date.now() };
      return {
        next: { ...settings, paused: undefined, subs: [...settings.subs, subscription] },
        result: { subscription, created: true },
      };
    });
  }

  remove(guildId: string, id: string): Promise<EventSubscription | undefined> {
    return this.updateSettings(guildId, (settings) => {
      const removed = settings.subs.find((sub) => sub.id === id);
      return { next: { ...settings, subs: settings.subs.filter((sub) => sub.id !== id) }, result: removed };
    });
  }

  setPaused(guildId: string, paused: SubscriptionProblem | undefined): Promise<void> {
    return this.updateSettings(guildId, (settings) => ({ next: { ...settings, paused }, result: undefined }));
  }

  setCapped(guildId: string, capped: GuildSchedules['capped']): Promise<void> {
    return this.updateSettings(guildId, (settings) => ({ next: { ...settings, capped }, result: undefined }));
  }

  async forgetGuild(guildId: string): Promise<void> {
    await this.lock.run(`guild:${guildId}`, async () => {
      for (const key of await this.eventKeys(guildId)) await this.events.delete(`event:${guildId}:${key}`);
      await this.events.delete(`events:${guildId}`);
      await this.guilds.delete(`events-subs:${guildId}`);
    });
    await this.lock.run('guilds', async () => {
      await this.guilds.set(
        'events-guilds',
        (await this.guildIds()).filter((id) => id !== guildId),
      );
    });
  }

  // --- one record per Discord event ----------------------------------------------------------

  async eventKeys(guildId: string): Promise<string[]> {
    return (await this.events.get<string[]>(`events:${guildId}`)) ?? [];
  }

  async event(guildId: string, key: string): Promise<EventRecord | undefined> {
    return this.events.get<EventRecord>(`event:${guildId}:${key}`);
  }

  async guildEvents(guildId: string): Promise<EventRecord[]> {
    const keys = await this.eventKeys(guildId);
    const records = await Promise.all(keys.map((key) => this.event(guildId, key)));
    return records.filter((record): record is EventRecord => record !== undefined);
  }

  /** Writes a record; a new key is listed for its guild (and the guild among those with events). */
  async saveEvent(record: EventRecord): Promise<void> {
    await this.events.set(`event:${record.guildId}:${record.key}`, record);
    await this.lock.run(`keys:${record.guildId}`, async () => {
      const keys = await this.eventKeys(record.guildId);
      if (!keys.includes(record.key)) await this.events.set(`events:${record.guildId}`, [...keys, record.key]);
    });
    await this.lock.run('guilds', async () => {
      const ids = await this.guildIds();
      if (!ids.includes(record.guildId)) await this.guilds.set('events-guilds', [...ids, record.guildId]);
    });
  }

  /** Forgets finished records whose end is long past, so a guild's list does not grow forever. */
  async prune(guildId: string, before: number): Promise<void> {
    await this.lock.run(`keys:${guildId}`, async () => {
      const keys = await this.eventKeys(guildId);
      const kept: string[] = [];
      for (const key of keys) {
        const record = await this.event(guildId, key);
        const finished = record && (record.status === 'completed' || record.status === 'canceled');
        if (record && finished && record.endMs < before && record.startMs < before) {
          await this.events.delete(`event:${guildId}:${key}`);
        } else if (record) kept.push(key);
      }
      if (kept.length !== keys.length) await this.events.set(`events:${guildId}`, kept);
    });
  }
}

export class SchedulesLimitReached extends Error {
  constructor(readonly max: number) {
    super(`a guild may mirror at most ${max} schedules`);
  }
}
