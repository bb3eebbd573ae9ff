// Planned watch parties: `/party schedule` makes the party at once (so its invite link exists for the
// event's place) and a Discord event, EXTERNAL with the invite link or VOICE in a chosen channel. At
// the start the panel is posted and the event set ACTIVE; when the party ends the event is
// COMPLETED; cancelling the event in Discord cancels the party. Plans live in the store
// (`plan:{id}`, listed by `plans` in the guilds namespace), so a restart keeps them.
//
// An empty party ends itself after 30 minutes (party/owner.ts), which a party planned for tonight
// would be long before it opens: until its start, the plan looks in on the party every
// KEEPALIVE_MS (the host joins again, which counts as someone there). Should it end anyway (the bot
// was down longer than that), a new party is made at the start and the event's place follows it.
import { randomBytes } from 'node:crypto';
import type Keyv from 'keyv';
import type { Logger } from '../logger.js';
import type { PartyPanels } from '../party/panel.js';
import type { PartyService, PartyUser } from '../party/service.js';
import { KeyLock } from '../util/keyLock.js';
import type { ScheduleRecords } from './records.js';
import { eventUrl, statusName, type EventDraft, type ScheduledEventsApi } from './scheduledEvents.js';
import { eventText } from './strings.js';

const MINUTE = 60_000;
/** Well inside the 30-minute quiet end, with room for a restart. */
const KEEPALIVE_MS = 10 * MINUTE;
/** Plans are checked at least this often, and at each plan's start. */
const SCAN_MS = 30_000;
export const PLAN_MAX_DAYS = 30;

export interface Plan {
  id: string;
  guildId: string;
  /** where /party schedule was run: the panel goes there */
  channelId: string;
  voiceChannelId?: string | undefined;
  host: PartyUser;
  source: string;
  title?: string | undefined;
  startMs: number;
  partyId?: string | undefined;
  inviteCode?: string | undefined;
  discordEventId: string;
  status: 'planned' | 'open' | 'ended' | 'canceled';
  keptAt?: number | undefined;
}

/**
 * A time as members type it: `in 2h`, `in 90 min`, `in 1h30m`, `20:30` (UTC, the next one to come),
 * `20:30+02:00`, or an ISO date (`2026-12-24T18:00Z`; without a zone, UTC). Undefined when unreadable.
 */
export function parseWhen(text: string, now: number): number | undefined {
  const typed = text.trim().toLowerCase();
  const relative = /^in\s+(.+)$/.exec(typed)?.[1];
  if (relative) {
    const parts = [...relative.matchAll(/(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])/g)];
    const consumed = parts.map((part) => part[0]).join('');
    if (parts.length === 0 || consumed.replace(/\s/g, '') !== relative.replace(/\s|and|,/g, '')) return undefined;
    const unit = (u: string): number => (u.startsWith('d') ? 1440 : u.startsWith('h') ? 60 : 1) * MINUTE;
    return Math.round(now + parts.reduce((sum, part) => sum + Number(part[1]) * unit(part[2]!), 0));
  }
  const clock = /^(\d{1,2}):(\d{2})\s*(?:(?:utc|z)?\s*([+-])(\d{1,2})(?::?(\d{2}))?|utc|z)?$/.exec(typed);
  if (clock) {
    const [, h, m, sign, offH, offM] = clock;
    if (Number(h) > 23 || Number(m) > 59) return undefined;
    const offset = sign ? (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM ?? 0)) * MINUTE : 0;
    const day = new Date(now);
    let at = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), Number(h), Number(m)) - offset;
    while (at <= now) at += 1440 * MINUTE;
    return at;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(typed)) {
    const withZone = /(z|[+-]\d{2}:?\d{2})$/.test(typed) || !typed.includes(':') ? typed : `${typed}z`;
    const at = Date.parse(withZone.toUpperCase().replace(' ', 'T'));
    return Number.isFinite(at) ? at : undefined;
  }
  return undefined;
}

export interface PlansOptions {
  keyv: Keyv;
  records: ScheduleRecords;
  api: ScheduledEventsApi;
  party: PartyService;
  panels: PartyPanels;
  log: Logger;
  now: () => number;
  defaultLengthMs: number;
}

export function createPlans(options: PlansOptions) {
  const { keyv, records, api, party, panels, log, now } = options;
  const lock = new KeyLock();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let scanning: Promise<void> | undefined;

  const get = (id: string) => keyv.get<Plan>(`plan:${id}`);
  const ids = async () => (await keyv.get<string[]>('plans')) ?? [];

  async function save(plan: Plan): Promise<void> {
    await keyv.set(`plan:${plan.id}`, plan);
    const finished = plan.status === 'ended' || plan.status === 'canceled';
    await lock.run('plans', async () => {
      const list = await ids();
      if (!finished && !list.includes(plan.id)) await keyv.set('plans', [...list, plan.id]);
      if (finished && list.includes(plan.id))
        await keyv.set(
          'plans',
          list.filter((id) => id !== plan.id),
        );
    });
  }

  async function plans(): Promise<Plan[]> {
    const all = await Promise.all((await ids()).map(get));
    return all.filter((plan): plan is Plan => plan !== undefined);
  }

  function eventDraft(plan: Plan, title: string, inviteUrl: string): EventDraft {
    return {
      name: title,
      description: eventText.party(plan.title ?? title),
      ...(plan.voiceChannelId ? { voiceChannelId: plan.voiceChannelId } : { location: inviteUrl }),
      startMs: plan.startMs,
      endMs: plan.startMs + options.defaultLengthMs,
    };
  }

  /** Opens a due plan: its party (a new one if it ended meanwhile), its panel, its event ACTIVE. */
  async function open(plan: Plan): Promise<void> {
    let detail = plan.partyId ? await party.getParty(plan.partyId) : null;
    let next: Plan = plan;
    if (!detail) {
      const created = await party.createParty({
        host: plan.host,
        source: plan.source,
        title: plan.title,
        visibility: 'public',
      });
      detail = created.detail;
      next = { ...next, partyId: created.id, inviteCode: created.invite_code };
      await keyv.set(`plan-party:${created.id}`, plan.id);
      if (!plan.voiceChannelId) {
        await api.edit(plan.guildId, plan.discordEventId, {
          draft: eventDraft(plan, detail.title, created.invite_url),
        });
      }
      log.info({ planId: plan.id, partyId: created.id }, 'planned party made anew: the first one had ended');
    }
    await panels.post(detail, plan.guildId, plan.channelId);
    const event = await api.edit(plan.guildId, plan.discordEventId, { status: 'active' });
    next = { ...next, status: 'open' };
    await save(next);
    const record = await records.event(plan.guildId, `party:${plan.id}`);
    if (record) await records.saveEvent({ ...record, status: statusName(event.status), liveStartedAt: now() });
    log.info({ planId: plan.id, partyId: next.partyId, guildId: plan.guildId }, 'planned watch party opened');
  }

  async function finishEvent(plan: Plan, status: 'completed' | 'canceled'): Promise<void> {
    await api
      .edit(plan.guildId, plan.discordEventId, { status })
      .catch((error: unknown) => log.warn({ err: error, planId: plan.id }, 'could not finish a planned party’s event'));
    const record = await records.event(plan.guildId, `party:${plan.id}`);
    if (record) await records.saveEvent({ ...record, status });
  }

  async function scan(): Promise<void> {
    const t = now();
    for (const plan of await plans()) {
      await lock
        .run(`plan:${plan.id}`, async () => {
          const current = await get(plan.id);
          if (!current) return;
          if (current.status === 'planned' && current.startMs <= t) await open(current);
          else if (current.status === 'planned' && current.partyId && t - (current.keptAt ?? 0) >= KEEPALIVE_MS) {
            await party.joinByCode(current.inviteCode ?? '', current.host).catch(() => undefined);
            await save({ ...current, keptAt: t });
          } else if (current.status === 'open' && current.partyId && !(await party.getParty(current.partyId))) {
            // Ended where this process did not hear it (another process owned the party).
            await partyEnded(current.partyId, 'host');
          }
        })
        .catch((error: unknown) => log.warn({ err: error, planId: plan.id }, 'planned party step failed'));
    }
  }

  async function arm(): Promise<void> {
    if (!running) return;
    if (timer) clearTimeout(timer);
    const t = now();
    const due = (await plans()).filter((p) => p.status === 'planned').map((p) => p.startMs);
    const wait = Math.max(0, Math.min(SCAN_MS, ...due.map((at) => at - t)));
    timer = setTimeout(() => {
      scanning ??= scan()
        .catch((error: unknown) => log.warn({ err: error }, 'planned parties scan failed'))
        .finally(() => {
          scanning = undefined;
          void arm();
        });
    }, wait);
    timer.unref();
  }

  /** A party ended: the event of its plan is completed (or, before the start, cancelled). */
  async function partyEnded(partyId: string, reason: 'host' | 'idle'): Promise<void> {
    const planId = await keyv.get<string>(`plan-party:${partyId}`);
    const plan = planId ? await get(planId) : undefined;
    if (!plan || plan.partyId !== partyId) return;
    if (plan.status === 'open') {
      await save({ ...plan, status: 'ended' });
      await finishEvent(plan, 'completed');
      log.info({ planId: plan.id, partyId }, 'planned watch party ended; its event is completed');
    } else if (plan.status === 'planned' && reason === 'host') {
      await save({ ...plan, status: 'canceled' });
      await finishEvent(plan, 'canceled');
    } else if (plan.status === 'planned') {
      // Ended for want of anyone before it opened: a new party is made at the start.
      await save({ ...plan, partyId: undefined });
    }
    await keyv.delete(`plan-party:${partyId}`);
  }

  return {
    /** Makes the party and its event now; the party opens at `startMs`. */
    async plan(input: Omit<Plan, 'id' | 'status' | 'discordEventId' | 'partyId' | 'inviteCode'>) {
      const created = await party.createParty({
        host: input.host,
        source: input.source,
        title: input.title,
        visibility: 'public',
      });
      const id = randomBytes(6).toString('hex');
      const draft = eventDraft(
        { ...input, id, status: 'planned', discordEventId: '' },
        created.detail.title,
        created.invite_url,
      );
      let event;
      try {
        event = await api.create(input.guildId, draft);
      } catch (error) {
        await party.endParty(created.id, input.host.id).catch(() => undefined);
        throw error;
      }
      const plan: Plan = {
        ...input,
        id,
        status: 'planned',
        discordEventId: event.id,
        partyId: created.id,
        inviteCode: created.invite_code,
        keptAt: now(),
      };
      await keyv.set(`plan-party:${created.id}`, id);
      await save(plan);
      await records.saveEvent({
        key: `party:${id}`,
        kind: 'party',
        guildId: input.guildId,
        discordEventId: event.id,
        status: 'scheduled',
        name: event.name,
        description: draft.description,
        startMs: Date.parse(event.scheduled_start_time),
        endMs: draft.endMs,
        planId: id,
      });
      log.info(
        { planId: id, partyId: created.id, guildId: input.guildId, startMs: input.startMs },
        'watch party planned',
      );
      void arm();
      return { plan, created, url: eventUrl(input.guildId, event.id) };
    },

    /** Someone cancelled (or deleted) the event in Discord: a plan behind it is cancelled. True if one was. */
    async eventCanceled(guildId: string, discordEventId: string): Promise<boolean> {
      const plan = (await plans()).find((p) => p.guildId === guildId && p.discordEventId === discordEventId);
      if (!plan || plan.status === 'ended' || plan.status === 'canceled') return false;
      await save({ ...plan, status: 'canceled' });
      if (plan.partyId) {
        await party
          .endParty(plan.partyId, plan.host.id)
          .catch((error: unknown) =>
            log.warn({ err: error, planId: plan.id }, 'could not end a cancelled plan’s party'),
          );
      }
      log.info({ planId: plan.id, guildId }, 'planned watch party cancelled: its event was cancelled in Discord');
      return true;
    },

    partyEnded: (partyId: string, reason: 'host' | 'idle') =>
      lock.run(`party:${partyId}`, () => partyEnded(partyId, reason)),

    start(): void {
      running = true;
      void arm();
    },

    async stop(): Promise<void> {
      running = false;
      if (timer) clearTimeout(timer);
      await scanning;
    },
  };
}

export type Plans = ReturnType<typeof createPlans>;
