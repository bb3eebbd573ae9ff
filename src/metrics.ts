// Prometheus metrics (prom-client), served at GET /metrics: what an operator graphs and alerts on.
// Modules get small hook functions, so none of them depends on prom-client itself.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** perf_hooks samples the loop every this many ms; a sample is how much later than that it came. */
const LOOP_RESOLUTION_MS = 10;
const LOOP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Event-loop delay from perf_hooks.monitorEventLoopDelay (a libuv timer every 10 ms, in C++, so
 * measuring costs nothing), kept as a Prometheus histogram: every few seconds, and at each scrape,
 * what perf_hooks recorded since is moved into the histogram's buckets (exactly, by its percentiles)
 * and perf_hooks starts again. Also the largest delay since start.
 */
function eventLoopDelay(registry: Registry): void {
  const monitor = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  monitor.enable();
  const histogram = new Histogram({
    name: 'parti_bot_event_loop_delay_seconds',
    help: 'How late the event loop ran a 10 ms timer (perf_hooks.monitorEventLoopDelay): a long one is a stall everyone waits for',
    buckets: LOOP_BUCKETS,
    registers: [registry],
    collect: () => drain(),
  });
  let max = 0;
  new Gauge({
    name: 'parti_bot_event_loop_delay_max_seconds',
    help: 'The longest event-loop delay since start',
    registers: [registry],
    collect() {
      drain();
      this.set(max);
    },
  });
  // perf_hooks takes percentiles in (0, 100]: the lowest asked for is a hair above 0.
  const delayAt = (percentile: number): number =>
    Math.max(0, monitor.percentile(Math.max(1e-6, percentile)) / 1e9 - LOOP_RESOLUTION_MS / 1000);
  /** The percentile at which perf_hooks' delays pass `bound` (binary search on its own histogram). */
  const percentileOf = (bound: number): number => {
    if (delayAt(100) <= bound) return 100;
    let [low, high] = [0, 100];
    for (let i = 0; i < 30; i++) {
      const middle = (low + high) / 2;
      if (delayAt(middle) <= bound) low = middle;
      else high = middle;
    }
    return low;
  };
  function drain(): void {
    const count = monitor.count;
    if (count === 0) return;
    max = Math.max(max, delayAt(100));
    // Each bucket's samples are observed at the delay halfway through them: the counts are exact.
    let below = 0;
    let from = 0;
    for (const bound of [...LOOP_BUCKETS, Number.POSITIVE_INFINITY]) {
      const to = Number.isFinite(bound) ? percentileOf(bound) : 100;
      const upTo = Math.round((count * to) / 100);
      if (upTo > below) {
        const value = delayAt((from + to) / 2);
        for (let n = below; n < upTo; n++) histogram.observe(value);
      }
      below = Math.max(below, upTo);
      from = to;
    }
    monitor.reset();
  }
  setInterval(drain, 5_000).unref();
}

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
  eventLoopDelay(registry);
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
