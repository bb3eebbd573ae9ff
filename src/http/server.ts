// The bot's HTTP server (Fastify: schema-aware routing, a pino logger it shares with us, and
// graceful close), with /healthz for Docker and load balancers and /metrics for Prometheus.
// Parties mount their routes here.
import type { IncomingMessage } from 'node:http';
import Fastify, { LogController } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { clientAddress, trustFunction, type TrustProxy } from './clientAddress.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The client's address of a raw request (a socket upgrade), as request.ip reads it for routes. */
    clientAddress(request: IncomingMessage): string;
  }
}

export interface HealthSource {
  discordReady(): boolean;
  storeOpen(): boolean;
  shuttingDown(): boolean;
}

const startedAt = Date.now();

export type HttpServer = ReturnType<typeof createHttpServer>;

export function createHttpServer(
  logger: Logger,
  health: HealthSource,
  registry?: Registry,
  trustProxy: TrustProxy = { kind: 'off' },
) {
  const trust = trustFunction(trustProxy);
  const app = Fastify({
    loggerInstance: logger.child({ module: 'http' }),
    // Health probes arrive every few seconds; per-request lines would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    // request.ip is the client only as far as TRUST_PROXY believes X-Forwarded-For (clientAddress.ts);
    // the party socket's upgrade reads it the same way.
    trustProxy: trust,
    bodyLimit: 64 * 1024,
    // close() destroys every connection still open. The default spares connections that have not
    // sent a request yet (a browser's preconnect), and one of those held close() for a minute.
    // By the time the server closes, everything that answers requests has already stopped.
    forceCloseConnections: true,
  });

  app.decorate('clientAddress', (request: IncomingMessage) => clientAddress(request, trust));

  app.get('/healthz', async (_request, reply) => {
    const discord = health.discordReady();
    const store = health.storeOpen();
    const stopping = health.shuttingDown();
    const ok = discord && store && !stopping;
    return reply
      .code(ok ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({
        status: stopping ? 'stopping' : ok ? 'ok' : 'starting',
        discord: discord ? 'ready' : 'connecting',
        store: store ? 'open' : 'closed',
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
      });
  });

  // Prometheus scrapes this; keep it off the public internet (a reverse proxy or firewall rule).
  if (registry) {
    app.get('/metrics', async (_request, reply) => {
      return reply.header('content-type', registry.contentType).send(await registry.metrics());
    });
  }

  return app;
}
