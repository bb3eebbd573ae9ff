// Alert subscriptions: which guild channel wants to hear about which creator or category.
// Stored per guild (one record lists a guild's subscriptions) with small indexes from a creator or
// a category to the guilds that follow it, so a go-live finds its channels without a scan.
import { randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import { KeyLock } from '../util/keyLock.js';

export type AlertTarget =
  { kind: 'creator'; userId: number; name: string } | { kind: 'category'; categoryId: number; name: string };

export interface SubscriptionProblem {
  /** Discord error code (50001, 50013, 10003) or a word for what happened */
  code: number | string;
  reason: string;
  at: number;
}

export interface Subscription {
  id: string;
  guildId: string;
  channelId: string;
  target: AlertTarget;
  roleId?: string | undefined;
  template?: string | undefined;
  createdBy: string;
  createdAt: number;
  /** set when delivery failed for a reason retrying cannot fix; the subscription posts nothing until cleared */
  paused?: SubscriptionProblem | undefined;
}

type IndexKey = `index:creator:${number}` | `index:category:${number}`;

function indexKey(target: AlertTarget): IndexKey {
  return target.kind === 'creator' ? `index:creator:${target.userId}` : `index:category:${target.categoryId}`;
}

export function sameTarget(a: AlertTarget, b: AlertTarget): boolean {
  return a.kind === 'creator'
    ? b.kind === 'creator' && a.userId === b.userId
    : b.kind === 'category' && a.categoryId === b.categoryId;
}

export class SubscriptionStore {
  private readonly lock = new KeyLock();

  constructor(private readonly keyv: Keyv) {}

  async list(guildId: string): Promise<Subscription[]> {
    return (await this.keyv.get<Subscription[]>(`subs:${guildId}`)) ?? [];
  }

  async get(guildId: string, id: string): Promise<Subscription | undefined> {
    return (await this.list(guildId)).find((sub) => sub.id === id);
  }

  /** Every subscription that follows this creator or this category, across guilds. */
  async matching(userId: number, categoryId: number | undefined): Promise<Subscription[]> {
    const keys: IndexKey[] = [`index:creator:${userId}`];
    if (categoryId !== undefined) keys.push(`index:category:${categoryId}`);
    const guildIds = new Set((await Promise.all(keys.map((key) => this.readIndex(key)))).flat());
    const lists = await Promise.all([...guildIds].map((guildId) => this.list(guildId)));
    return lists
      .flat()
      .filter((sub) =>
        sub.target.kind === 'creator' ? sub.target.userId === userId : sub.target.categoryId === categoryId,
      );
  }

  /**
   * Adds a subscription, or updates the one with the same target and channel (role, template, and
   * a cleared pause). Throws LimitReached when the guild already has `max`.
   */
  async upsert(
    input: Omit<Subscription, 'id' | 'createdAt' | 'paused'>,
    max: number,
  ): Promise<{ subscription: Subscription; created: boolean }> {
    return this.lock.run(`guild:${input.guildId}`, async () => {
      const subs = await this.list(input.guildId);
      const existing = subs.find((sub) => sub.channelId === input.channelId && sameTarget(sub.target, input.target));
      if (existing) {
        const updated: Subscription = {
          ...existing,
          roleId: input.roleId,
          template: input.template,
          paused: undefined,
        };
        await this.keyv.set(
          `subs:${input.guildId}`,
          subs.map((sub) => (sub.id === existing.id ? updated : sub)),
        );
        return { subscription: updated, created: false };
      }
      if (subs.length >= max) throw new LimitReached(max);
      const subscription: Subscription = { ...input, id: randomBytes(4).toString('hex'), createdAt: Date.now() };
      await this.keyv.set(`subs:${input.guildId}`, [...subs, subscription]);
      await this.addToIndex(indexKey(subscription.target), input.guildId);
      return { subscription, created: true };
    });
  }

  async remove(guildId: string, id: string): Promise<Subscription | undefined> {
    return this.lock.run(`guild:${guildId}`, async () => {
      const subs = await this.list(guildId);
      const removed = subs.find((sub) => sub.id === id);
      if (!removed) return undefined;
      const rest = subs.filter((sub) => sub.id !== id);
      await this.keyv.set(`subs:${guildId}`, rest);
      if (!rest.some((sub) => sameTarget(sub.target, removed.target))) {
        await this.removeFromIndex(indexKey(removed.target), guildId);
      }
      return removed;
    });
  }

  /** The bot left the guild: forget everything it had set up there. */
  async removeGuild(guildId: string): Promise<number> {
    return this.lock.run(`guild:${guildId}`, async () => {
      const subs = await this.list(guildId);
      await Promise.all(
        [...new Set(subs.map((sub) => indexKey(sub.target)))].map((key) => this.removeFromIndex(key, guildId)),
      );
      await this.keyv.delete(`subs:${guildId}`);
      return subs.length;
    });
  }

  /** Pauses (or, with `problem` undefined, resumes) the subscriptions matching `which`. */
  async setProblem(
    guildId: string,
    which: (sub: Subscription) => boolean,
    problem: SubscriptionProblem | undefined,
  ): Promise<Subscription[]> {
    return this.lock.run(`guild:${guildId}`, async () => {
      const subs = await this.list(guildId);
      const changed: Subscription[] = [];
      const next = subs.map((sub) => {
        if (!which(sub)) return sub;
        const updated = { ...sub, paused: problem };
        changed.push(updated);
        return updated;
      });
      if (changed.length > 0) await this.keyv.set(`subs:${guildId}`, next);
      return changed;
    });
  }

  private async readIndex(key: IndexKey): Promise<string[]> {
    return (await this.keyv.get<string[]>(key)) ?? [];
  }

  private addToIndex(key: IndexKey, guildId: string): Promise<void> {
    return this.lock.run(key, async () => {
      const guilds = await this.readIndex(key);
      if (!guilds.includes(guildId)) await this.keyv.set(key, [...guilds, guildId]);
    });
  }

  private removeFromIndex(key: IndexKey, guildId: string): Promise<void> {
    return this.lock.run(key, async () => {
      const guilds = (await this.readIndex(key)).filter((id) => id !== guildId);
      if (guilds.length > 0) await this.keyv.set(key, guilds);
      else await this.keyv.delete(key);
    });
  }
}

export class LimitReached extends Error {
  constructor(readonly max: number) {
    super(`a guild may have at most ${max} alert subscriptions`);
  }
}
