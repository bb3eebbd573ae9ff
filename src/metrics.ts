// Prometheus metrics (prom-client), served at GET /metrics: what an operator graphs and alerts on.
// Modules get small hook functions, so none of them depends on prom-client itself.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsHooks {
  /** one upstream Parti attempt: its route, `ok` or the PartiError kind, and its duration */
  partiRequest(route: string, outcome: string, seconds: number): void;
  /** the Parti API or media base in use: at start, then after every switch, with the base it replaced */
  partiBaseInUse(kind: 'api' | 'media', base: string, replaced?: string): void;
  /** one go-live alert posted, and how long after the push (or the live-list read) it reached Discord */
  alertPosted(source: string, latencySeconds: number): void;
  /** a Discord REST answer */
  discordResponse(status: number, route: string): void;
  /** one WebSocket message from a watch-party player, by type */
  partyMessageIn(type: string): void;
  /** frames written to watch-party sockets */
  partyMessagesOut(count: number): void;
}

export interface Metrics extends MetricsHooks {
  registry: Registry;
  /** sets how live parties are read at scrape time */
  watchParties(read: () => { parties: number; participants: number; sockets: number }): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parti_bot_' });
  const partiRequests = new Counter({
    name: 'parti_bot_parti_requests_total',
    help: 'Requests to the Parti API, by route and outcome (ok or the error kind)',
    labelNames: ['route', 'outcome'],
    registers: [registry],
  });
  const partiSeconds = new Histogram({
    name: 'parti_bot_parti_request_seconds',
    help: 'Parti API request duration',
    labelNames: ['route'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8],
    registers: [registry],
  });
  const partiBase = new Gauge({
    name: 'parti_bot_parti_base_in_use',
    help: 'Which Parti base the bot uses now (1), by kind (api or media); the other configured ones are 0 once left',
    labelNames: ['kind', 'base'],
    registers: [registry],
  });
  const partiSwitches = new Counter({
    name: 'parti_bot_parti_base_switches_total',
    help: 'Switches from one Parti base to another, by kind (api or media)',
    labelNames: ['kind', 'from', 'to'],
    registers: [registry],
  });
  const alertsPosted = new Counter({
    name: 'parti_bot_alerts_posted_total',
    help: 'Go-live alerts posted, by what told the bot (push or live-list)',
    labelNames: ['source'],
    registers: [registry],
  });
  const alertSeconds = new Histogram({
    name: 'parti_bot_alert_latency_seconds',
    help: 'From the go-live reaching the bot to the alert posted on Discord',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const discordResponses = new Counter({
    name: 'parti_bot_discord_rate_limited_total',
    help: 'Discord REST answers with status 429, by route',
    labelNames: ['route'],
    registers: [registry],
  });
  const partyIn = new Counter({
    name: 'parti_bot_party_ws_messages_in_total',
    help: 'WebSocket messages from watch-party players, by type (sync-request among them)',
    labelNames: ['type'],
    registers: [registry],
  });
  const partyOut = new Counter({
    name: 'parti_bot_party_ws_messages_out_total',
    help: 'WebSocket frames sent to watch-party players',
    registers: [registry],
  });
  let readParties: () => { parties: number; participants: number; sockets: number } = () => ({
    parties: 0,
    participants: 0,
    sockets: 0,
  });
  for (const [name, help, key] of [
    ['parti_bot_watch_parties', 'Live watch parties', 'parties'],
    ['parti_bot_watch_party_participants', 'Participants of live watch parties', 'participants'],
    ['parti_bot_watch_party_sockets', 'Open watch-party WebSockets', 'sockets'],
  ] as const) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(readParties()[key]);
      },
    });
  }

  return {
    registry,
    partiRequest(route, outcome, seconds) {
      partiRequests.inc({ route, outcome });
      partiSeconds.observe({ route }, seconds);
    },
    partiBaseInUse(kind, base, replaced) {
      if (replaced !== undefined) {
        partiBase.set({ kind, base: replaced }, 0);
        partiSwitches.inc({ kind, from: replaced, to: base });
      }
      partiBase.set({ kind, base }, 1);
    },
    alertPosted(source, latencySeconds) {
      alertsPosted.inc({ source });
      alertSeconds.observe(latencySeconds);
    },
    discordResponse(status, route) {
      if (status === 429) discordResponses.inc({ route });
    },
    partyMessageIn(type) {
      partyIn.inc({ type });
    },
    partyMessagesOut(count) {
      partyOut.inc(count);
    },
    watchParties(read) {
      readParties = read;
    },
  };
}
