// Entry point: config → logger → store → Parti client → HTTP server → Discord client; then start.
// SIGTERM/SIGINT stop taking work, let running interactions finish, close sockets, flush the store.
import { setTimeout as sleep } from 'node:timers/promises';
import { Routes, type APIApplication } from 'discord.js';
import { createAlertService } from './alerts/service.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Deps } from './deps.js';
import { createDiscordClient } from './discord/client.js';
import { registerEvents } from './events/index.js';
import { createHttpServer } from './http/server.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createPartiClient } from './parti/client.js';
import { createLiveFeed } from './parti/liveFeed.js';
import { activityEnabled, activityPageOrigin, createActivitySignIn, registerActivityRoutes } from './party/activity.js';
import { createPartyPanels } from './party/panel.js';
import { registerPlayerRoutes } from './party/player/routes.js';
import { connectPartyCluster } from './party/cluster.js';
import { registerPartyRoutes } from './party/server.js';
import { createPartyThreads } from './party/thread.js';
import { createPartyService, partyLimitsFrom } from './party/service.js';
import { createCoverFetcher } from './schedules/cover.js';
import { createSchedulesService } from './schedules/service.js';
import { openStore } from './store/index.js';

const SHUTDOWN_DEADLINE_MS = 9_000;
const CACHE_PURGE_INTERVAL_MS = 10 * 60_000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`parti-bot: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger(config.LOG_LEVEL);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  const metrics = createMetrics();
  const store = await openStore(config.STORE_URL, logger);
  const parti = createPartiClient({
    baseUrls: config.PARTI_API_URL,
    mediaBaseUrls: config.PARTI_MEDIA_URL,
    proxyUrl: config.PARTI_PROXY_URL,
    cache: store.cache,
    logger: logger.child({ module: 'parti' }),
    onAttempt: (route, outcome, seconds) => metrics.partiRequest(route, outcome, seconds),
    onBaseInUse: (kind, base, replaced) => metrics.partiBaseInUse(kind, base, replaced),
  });
  const client = createDiscordClient(config);
  client.rest.on('response', (request, response) => metrics.discordResponse(response.status, request.route));
  const feed = createLiveFeed({
    url: config.PARTI_WS_URL,
    proxyUrl: config.PARTI_PROXY_URL,
    logger: logger.child({ module: 'liveFeed' }),
  });
  const alerts = createAlertService({
    store,
    parti,
    rest: client.rest,
    feed,
    logger,
    settings: {
      pollMs: config.ALERT_POLL_SECONDS * 1000,
      graceMs: config.ALERT_GRACE_SECONDS * 1000,
      editIntervalMs: config.ALERT_EDIT_SECONDS * 1000,
      categoryCapPerHour: config.ALERT_CATEGORY_CAP_PER_HOUR,
      maxPerGuild: config.ALERT_MAX_PER_GUILD,
      leaseMs: config.ALERT_LEASE_SECONDS * 1000,
      activity: activityEnabled(config),
    },
    metrics,
  });
  // Several processes on one Redis share their parties: each party is owned by one of them.
  const cluster = store.kind === 'redis' ? await connectPartyCluster(config.STORE_URL, logger) : undefined;
  const party = await createPartyService({
    store,
    parti,
    config,
    logger,
    metrics,
    cluster,
    ownerLeaseMs: config.PARTY_LEASE_SECONDS * 1000,
    limits: partyLimitsFrom(config),
  });
  metrics.watchParties(() => party.stats());
  const panels = createPartyPanels({ store, rest: client.rest, party, logger, activity: activityEnabled(config) });
  const threads = createPartyThreads({
    store,
    rest: client.rest,
    client,
    party,
    logger,
    bridge: config.PARTY_CHAT_BRIDGE === 'thread',
  });
  const schedules = createSchedulesService({
    store,
    parti,
    rest: client.rest,
    client,
    alerts,
    party,
    panels,
    logger,
    cover: createCoverFetcher({
      outbound: { allowPrivate: config.MEDIA_ALLOW_PRIVATE, proxyUrl: config.PARTI_PROXY_URL },
      logger: logger.child({ module: 'schedules' }),
    }),
    settings: {
      defaultLengthMs: config.EVENTS_DEFAULT_HOURS * 3_600_000,
      reconcileMs: config.EVENTS_RECONCILE_SECONDS * 1000,
      maxPerGuild: config.ALERT_MAX_PER_GUILD,
    },
  });
  const lifecycle = { shuttingDown: false, inFlight: 0 };
  const deps: Deps = { config, logger, store, parti, client, alerts, party, panels, threads, schedules, lifecycle };

  const http = createHttpServer(
    logger,
    {
      discordReady: () => client.isReady(),
      storeOpen: () => store.isOpen(),
      shuttingDown: () => lifecycle.shuttingDown,
    },
    metrics.registry,
    config.TRUST_PROXY,
  );
  // The Activity (DISCORD_CLIENT_SECRET set) signs in with the application's id as OAuth2 client id.
  let applicationId: Promise<string> | undefined;
  const activityApp = async (): Promise<string> => {
    if (client.application) return client.application.id;
    applicationId ??= client.rest.get(Routes.currentApplication()).then((app) => (app as APIApplication).id);
    return applicationId.catch((error: unknown) => {
      applicationId = undefined;
      throw error;
    });
  };
  const activity = activityEnabled(config) ? { applicationId: activityApp } : undefined;
  registerPartyRoutes(http, party, {
    corsOrigins: config.PARTY_CORS_ORIGINS,
    publicUrl: config.PUBLIC_URL,
    // Inside Discord the page is the app's own discordsays.com origin, which its proxy passes on.
    ...(activity && { activityOrigin: async () => activityPageOrigin(await activityApp()) }),
  });
  if (activity) {
    registerActivityRoutes(
      http,
      createActivitySignIn({ config, party, store, rest: client.rest, applicationId: activityApp }),
    );
  }
  registerPlayerRoutes(http, party, config, { activity });
  await http.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
  const address = http.server.address();
  logger.info(
    { port: typeof address === 'object' && address ? address.port : config.HTTP_PORT },
    'http server listening',
  );

  const purge = setInterval(() => {
    store
      .purgeExpired()
      .then((count) => count && logger.debug({ count }, 'expired cache entries purged'))
      .catch((error: unknown) => logger.warn({ err: error }, 'cache purge failed'));
  }, CACHE_PURGE_INTERVAL_MS);
  purge.unref();

  client.on('error', (error) => logger.error({ err: error }, 'discord client error'));
  client.on('warn', (message) => logger.warn({ module: 'discord' }, message));
  registerEvents(client, deps);

  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      lifecycle.shuttingDown = true;
      logger.info({ signal }, 'shutting down');
      setTimeout(() => {
        logger.error('shutdown took too long; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS).unref();
      clearInterval(purge);
      // Let interactions already running answer their user before the gateway goes away.
      for (let waited = 0; lifecycle.inFlight > 0 && waited < 5_000; waited += 50) await sleep(50);
      // Event calls share the alert queue, which alerts.stop() lets drain.
      await schedules.stop();
      await alerts.stop();
      await client.destroy();
      // Parties stay live in the store; their sockets close so players reconnect to the next start.
      panels.close();
      threads.close();
      await party.close();
      await cluster?.close();
      await http.close();
      await parti.close();
      await store.close();
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  try {
    await client.login(config.DISCORD_TOKEN);
  } catch (error) {
    logger.fatal({ err: error }, 'could not log in to Discord: check DISCORD_TOKEN');
    await store.close();
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error('parti-bot: failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
