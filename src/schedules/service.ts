// Parti schedules in the server's Events tab, and planned watch parties: the front the commands and
// the gateway events use (Deps.schedules). The process that delivers go-live alerts (the alert
// lease) also does everything here: it mirrors the calendar on start and every
// EVENTS_RECONCILE_SECONDS (mirror.ts), sets events going and finishes them with the streams it
// already follows (live.ts), and opens planned parties at their time (plans.ts).
//
// A refusal for want of Create/Manage Events pauses a guild's mirroring (events made for it stop)
// and /alerts events list says why, as a paused alert does; the next check resumes it once the bot
// has the permission again.
import { GuildScheduledEventStatus, PermissionFlagsBits, type Client, type REST } from 'discord.js';
import { discordRefusal } from '../discord/errors.js';
import type { AlertService } from '../alerts/service.js';
import type { Logger } from '../logger.js';
import type { PartiClient } from '../parti/client.js';
import type { PartyPanels } from '../party/panel.js';
import type { PartyService } from '../party/service.js';
import type { Store } from '../store/index.js';
import { createLiveEvents } from './live.js';
import { createMirror } from './mirror.js';
import { createPlans } from './plans.js';
import { ScheduleRecords } from './records.js';
import type { CoverFetcher } from './cover.js';
import { createScheduledEventsApi, isGoneOrFinished } from './scheduledEvents.js';
import { scheduleStrings } from './strings.js';

export interface ScheduleSettings {
  defaultLengthMs: number;
  reconcileMs: number;
  maxPerGuild: number;
}

export interface SchedulesOptions {
  store: Store;
  parti: PartiClient;
  rest: REST;
  client: Pick<Client, 'user' | 'guilds'>;
  alerts: Pick<AlertService, 'observe' | 'queue'>;
  party: PartyService;
  panels: PartyPanels;
  logger: Logger;
  settings: ScheduleSettings;
  /** Reads an event's cover image (cover.ts); without it, events have none. */
  cover?: CoverFetcher;
  now?: () => number;
}

export function createSchedulesService(options: SchedulesOptions) {
  const { store, parti, rest, settings, party, panels } = options;
  const now = options.now ?? Date.now;
  const log = options.logger.child({ module: 'schedules' });
  const records = new ScheduleRecords(store.guilds, store.alerts);
  const api = createScheduledEventsApi(rest, now, options.alerts.queue, options.cover);
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<void> | undefined;
  let leading = false;

  /** Pauses the guild on a refusal that retrying cannot fix; true when it did. */
  async function refused(guildId: string, error: unknown): Promise<boolean> {
    const refusal = discordRefusal(error);
    if (refusal?.refusal === 'missingPermissions' || refusal?.refusal === 'missingAccess') {
      await records.setPaused(guildId, { code: refusal.code, reason: scheduleStrings.pauseReason, at: now() });
      log.warn({ guildId, code: refusal.code }, 'scheduled events refused by Discord; pausing them for the guild');
      return true;
    }
    return isGoneOrFinished(error);
  }

  /** A paused guild whose bot has the permission again resumes. */
  async function resumePaused(): Promise<void> {
    for (const guildId of await records.guildIds()) {
      const { paused } = await records.settings(guildId);
      if (!paused) continue;
      const me = options.client.guilds.cache.get(guildId)?.members.me;
      if (me?.permissions.any([PermissionFlagsBits.CreateEvents, PermissionFlagsBits.ManageEvents])) {
        await records.setPaused(guildId, undefined);
        log.info({ guildId }, 'scheduled events resume: the permission is back');
      }
    }
  }

  const mirror = createMirror({
    records,
    api,
    parti,
    log,
    now,
    botUserId: () => options.client.user?.id,
    defaultLengthMs: settings.defaultLengthMs,
    refused,
  });
  const live = createLiveEvents({ records, api, parti, log, now, defaultLengthMs: settings.defaultLengthMs, refused });
  const plans = createPlans({
    keyv: store.guilds,
    records,
    api,
    party,
    panels,
    log,
    now,
    defaultLengthMs: settings.defaultLengthMs,
  });

  function reconcile(reason: string): Promise<void> {
    reconciling ??= resumePaused()
      .then(() => mirror.reconcile())
      .catch((error: unknown) => log.error({ err: error, reason }, 'scheduled events reconcile failed'))
      .finally(() => {
        reconciling = undefined;
      });
    return reconciling;
  }

  const offEnded = party.on('ended', ({ party: detail, reason }) => {
    void plans
      .partyEnded(detail.id, reason)
      .catch((error: unknown) => log.warn({ err: error, partyId: detail.id }, 'planned party end not recorded'));
  });

  options.alerts.observe({
    ...live,
    leading(now) {
      leading = now;
      if (reconcileTimer) clearInterval(reconcileTimer);
      reconcileTimer = undefined;
      if (!leading) {
        void plans.stop();
        return;
      }
      void reconcile('start');
      reconcileTimer = setInterval(() => void reconcile('interval'), settings.reconcileMs);
      reconcileTimer.unref();
      plans.start();
    },
  });

  return {
    records,
    settings,
    plan: (input: Parameters<typeof plans.plan>[0]) => plans.plan(input),

    /** Mirrors now (after /alerts events add or remove); only the delivering process does. */
    reconcileSoon(): void {
      if (leading) void reconcile('requested');
    },

    /** A member changed an event in Discord: a cancelled or deleted one stays so, and its plan ends. */
    async eventChangedInDiscord(
      guildId: string,
      discordEventId: string,
      status: GuildScheduledEventStatus | 'deleted',
    ) {
      if (status !== 'deleted' && status !== GuildScheduledEventStatus.Canceled) return;
      const record = (await records.guildEvents(guildId)).find((r) => r.discordEventId === discordEventId);
      if (record && record.status !== 'canceled' && record.status !== 'completed') {
        await records.saveEvent({ ...record, status: 'canceled' });
        log.info({ guildId, discordEventId, key: record.key }, 'scheduled event cancelled in Discord');
      }
      await plans.eventCanceled(guildId, discordEventId);
    },

    forgetGuild: (guildId: string) => records.forgetGuild(guildId),

    async stop(): Promise<void> {
      offEnded();
      if (reconcileTimer) clearInterval(reconcileTimer);
      await plans.stop();
      await reconciling;
    },
  };
}

export type SchedulesService = ReturnType<typeof createSchedulesService>;
